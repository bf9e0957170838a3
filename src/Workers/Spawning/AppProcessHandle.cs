using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Porter.Contracts.Ids;
using Porter.Hosting;

namespace Porter.Workers.Spawning;

/// <summary>One running OS process of an app: its PID, port, exit signal and the tail of its stderr.</summary>
public sealed class AppProcessHandle : IDisposable
{
    private const int StderrTailLines = 40;
    private readonly Process _process;
    private readonly Queue<string> _stderrTail = new();
    private readonly TaskCompletionSource<int> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private AppProcessHandle(Process process, int port, AppName app, string oobSecret)
    {
        _process = process;
        Port = port;
        App = app;
        OobSecret = oobSecret;
        Pid = new ProcessId(process.Id);
        StartedAt = DateTimeOffset.UtcNow;
    }

    public AppName App { get; }
    public ProcessId Pid { get; }
    public int Port { get; }
    public DateTimeOffset StartedAt { get; }

    /// <summary>The secret this process got in its environment to check Porter's out-of-band work calls (<see cref="OobWorkSignature"/>).</summary>
    public string OobSecret { get; }

    /// <summary>Completes with the exit code when the process has exited and its output is drained.</summary>
    public Task<int> Exited => _exited.Task;

    /// <summary>The last lines the app wrote to stderr, oldest first.</summary>
    public IReadOnlyList<string> StderrTail
    {
        get { lock (_stderrTail) return _stderrTail.ToArray(); }
    }

    /// <summary>Starts the app on a free loopback port; output lines go to the log tagged with app and PID.</summary>
    public static AppProcessHandle Start(SpawnPlan plan, AppName app, ILogger logger)
    {
        var port = FreeLoopbackPort();
        var psi = new ProcessStartInfo(plan.FileName)
        {
            WorkingDirectory = plan.WorkingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var arg in plan.Arguments) psi.ArgumentList.Add(arg);
        SocketTuning.ForChildProcess(psi.Environment);
        foreach (var (key, value) in plan.Environment) psi.Environment[key] = value;
        psi.Environment["PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var oobSecret = OobWorkSignature.NewSecret();
        psi.Environment[OobWorkSignature.EnvironmentVariable] = oobSecret;

        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        // Start throws Win32Exception when the command does not exist; the caller counts that as a failed start.
        process.Start();
        process.StandardInput.Close();
        var handle = new AppProcessHandle(process, port, app, oobSecret);
        handle.PumpOutput(logger);
        return handle;
    }

    private void PumpOutput(ILogger logger)
    {
        var pid = Pid.Value;
        var stdout = Task.Run(async () =>
        {
            while (await _process.StandardOutput.ReadLineAsync() is { } line)
                logger.LogInformation("[{App} {Pid} stdout] {Line}", App.Value, pid, Sanitize(line));
        });
        var stderr = Task.Run(async () =>
        {
            while (await _process.StandardError.ReadLineAsync() is { } line)
            {
                var clean = Sanitize(line);
                lock (_stderrTail)
                {
                    _stderrTail.Enqueue(clean);
                    while (_stderrTail.Count > StderrTailLines) _stderrTail.Dequeue();
                }
                logger.LogWarning("[{App} {Pid} stderr] {Line}", App.Value, pid, clean);
            }
        });
        _ = Task.Run(async () =>
        {
            await _process.WaitForExitAsync();
            // Output readers end when the pipes close; a child that inherited them may keep them open, so bound the wait.
            await Task.WhenAny(Task.WhenAll(stdout, stderr), Task.Delay(2000));
            _exited.TrySetResult(_process.ExitCode);
        });
    }

    /// <summary>Waits until the app accepts TCP connections on its port, or exits, or the timeout passes.</summary>
    public async Task<StartOutcome> WaitUntilListeningAsync(TimeSpan timeout, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (Exited.IsCompleted) return StartOutcome.ExitedDuringStart;
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                using var attempt = CancellationTokenSource.CreateLinkedTokenSource(ct);
                attempt.CancelAfter(500);
                await socket.ConnectAsync(IPAddress.Loopback, Port, attempt.Token);
                return StartOutcome.Listening;
            }
            catch (SocketException) { }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested) { }
            await Task.WhenAny(Exited, Task.Delay(50, ct));
        }
        return StartOutcome.TimedOut;
    }

    public void Dispose() => _process.Dispose();

    /// <summary>Drops control characters so a garbage-printing app cannot corrupt the log.</summary>
    private static string Sanitize(string line)
    {
        if (line.Length > 4000) line = line[..4000];
        foreach (var c in line)
            if (char.IsControl(c) && c != '\t') return new string(line.Select(ch => char.IsControl(ch) && ch != '\t' ? '?' : ch).ToArray());
        return line;
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>How waiting for a new process to listen ended.</summary>
public enum StartOutcome { Listening, ExitedDuringStart, TimedOut }
