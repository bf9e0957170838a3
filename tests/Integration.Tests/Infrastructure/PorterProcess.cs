using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Porter.Integration.Tests.Infrastructure;

/// <summary>
/// A real Porter node process (<c>porter start</c> by default; <c>porter gateway</c> or <c>porter-worker worker</c> too)
/// on a free loopback port, with its output captured and clients for its HTTP and management ports.
/// </summary>
public sealed partial class PorterProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private IReadOnlyList<int> _orphans = [];

    private PorterProcess(Process process, int port, int managementPort, string dataDir, string address = "127.0.0.1")
    {
        _process = process;
        Address = address;
        Port = port;
        ManagementPort = managementPort;
        DataDir = dataDir;
        Management = new HttpClient(new SocketsHttpHandler { UseProxy = false })
        {
            BaseAddress = new Uri($"http://{address}:{managementPort}/"),
            Timeout = TimeSpan.FromSeconds(30),
        };
        Client = new HttpClient(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false, UseCookies = false })
        {
            BaseAddress = new Uri($"http://{address}:{port}/"),
            Timeout = TimeSpan.FromSeconds(60),
        };
    }

    public int Port { get; }

    /// <summary>The loopback address the node listens on (each simulated pod has its own).</summary>
    public string Address { get; }

    /// <summary>The management API's port (every test node gets a free one instead of 8558).</summary>
    public int ManagementPort { get; }

    /// <summary>A client for the management API.</summary>
    public HttpClient Management { get; }

    public string DataDir { get; }
    public int Pid => _process.Id;
    public HttpClient Client { get; }

    /// <summary>Everything the process printed so far (stdout and stderr).</summary>
    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    public bool HasExited => _process.HasExited;

    /// <summary>Starts <c>porter start</c> with the given arguments (port and data dir are added) and waits until it serves HTTP.</summary>
    public static Task<PorterProcess> StartAsync(IEnumerable<string> args, bool waitForApp = true,
        IDictionary<string, string>? environment = null, string? dataDir = null) =>
        StartNodeAsync(NodeKind.Standalone, args, waitForApp, environment, dataDir);

    /// <summary>Which node program a process runs.</summary>
    public enum NodeKind { Standalone, Gateway, Worker }

    /// <summary>
    /// Starts a node of the given kind. Port, management port and data dir are added unless the arguments set them;
    /// on <paramref name="address"/> other than 127.0.0.1 the node gets it as its --hostname, and so binds its public
    /// (or internal) port, management port and remoting there, as a pod with its own IP would. With <paramref name="settingsFromEnvironmentOnly"/> none
    /// of those flags is added: the node reads them from <paramref name="environment"/> as a pod does. Without
    /// <paramref name="passDataDir"/> the node picks its default data dir, which <paramref name="dataDir"/> then names. With
    /// <paramref name="throughImageEntrypoint"/> the program starts as in the images, through their entrypoint.
    /// </summary>
    public static async Task<PorterProcess> StartNodeAsync(NodeKind kind, IEnumerable<string> args, bool waitForApp = true,
        IDictionary<string, string>? environment = null, string? dataDir = null, string address = "127.0.0.1",
        int? port = null, int? managementPort = null, bool settingsFromEnvironmentOnly = false, bool passDataDir = true,
        bool throughImageEntrypoint = false)
    {
        args = args.ToArray();
        port ??= Repo.FreePort();
        managementPort ??= Repo.FreePort();
        dataDir ??= Repo.TempDir("data");
        // The images start the program through deploy/porter-entrypoint.sh, which fills in their defaults.
        var psi = new ProcessStartInfo(throughImageEntrypoint ? "/bin/sh" : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (throughImageEntrypoint) psi.ArgumentList.Add(Path.Combine(Repo.Root, "deploy", "porter-entrypoint.sh"));
        psi.ArgumentList.Add(kind == NodeKind.Worker ? Repo.WorkerDll : Repo.PorterDll);
        psi.ArgumentList.Add(kind switch { NodeKind.Gateway => "gateway", NodeKind.Worker => "worker", _ => "start" });
        foreach (var a in args) psi.ArgumentList.Add(a);
        string Text(int n) => n.ToString(System.Globalization.CultureInfo.InvariantCulture);
        // A pod's node takes its ports, addresses and data dir from the environment its manifest sets.
        if (!settingsFromEnvironmentOnly)
        {
            psi.ArgumentList.Add("--port");
            psi.ArgumentList.Add(Text(port.Value));
            if (passDataDir)
            {
                psi.ArgumentList.Add("--data-dir");
                psi.ArgumentList.Add(dataDir);
            }
            if (!args.Contains("--management-port"))
            {
                psi.ArgumentList.Add("--management-port");
                psi.ArgumentList.Add(Text(managementPort.Value));
            }
            // A node given its own address binds its listeners there, as a pod would.
            if (address != "127.0.0.1")
            {
                psi.ArgumentList.Add("--hostname");
                psi.ArgumentList.Add(address);
            }
        }
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) psi.Environment[k] = v;

        var process = Process.Start(psi)!;
        var porter = new PorterProcess(process, port.Value, managementPort.Value, dataDir, address);
        process.OutputDataReceived += (_, e) => porter.Append(e.Data);
        process.ErrorDataReceived += (_, e) => porter.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            if (waitForApp) await porter.WaitUntilServingAsync();
            else await porter.WaitUntilListeningAsync();
        }
        catch
        {
            await porter.DisposeAsync();
            throw;
        }
        return porter;
    }

    /// <summary>Waits until porter accepts TCP connections (its apps may still be starting).</summary>
    public Task WaitUntilListeningAsync() =>
        Poll.UntilAsync(async () =>
        {
            if (_process.HasExited) throw new InvalidOperationException($"porter exited with {_process.ExitCode}:\n{Output}");
            using var socket = new System.Net.Sockets.TcpClient();
            try
            {
                await socket.ConnectAsync(Address, Port);
                return "";
            }
            catch (System.Net.Sockets.SocketException)
            {
                return null;
            }
        }, TimeSpan.FromSeconds(60), $"porter to listen on port {Port}");

    /// <summary>Waits until an app request gets any answer other than a connection error or 503.</summary>
    public Task WaitUntilServingAsync(string path = "/", TimeSpan? timeout = null) =>
        Poll.UntilAsync(async () =>
        {
            if (_process.HasExited) throw new InvalidOperationException($"porter exited with {_process.ExitCode}:\n{Output}");
            using var response = await Client.GetAsync(path);
            return response.StatusCode == System.Net.HttpStatusCode.ServiceUnavailable ? null : (object)response.StatusCode;
        }, timeout ?? TimeSpan.FromSeconds(60), $"porter on port {Port} to serve {path}");

    /// <summary>PIDs of the app processes porter started, from its PID records.</summary>
    /// <remarks>Only live processes: the record of one that just exited is removed a moment after its exit.</remarks>
    public IReadOnlyList<int> RecordedAppPids() =>
        Directory.Exists(Path.Combine(DataDir, "pids"))
            ? Directory.EnumerateFiles(Path.Combine(DataDir, "pids"))
                .Select(f => int.Parse(Path.GetFileName(f), System.Globalization.CultureInfo.InvariantCulture))
                .Where(IsAlive)
                .ToList()
            : [];

    /// <summary>PIDs of one app's processes, from the PID records (each names its app on the second line).</summary>
    public IReadOnlyList<int> RecordedAppPids(string app) =>
        RecordedAppPids().Where(pid =>
        {
            try { return File.ReadLines(Path.Combine(DataDir, "pids", pid.ToString(System.Globalization.CultureInfo.InvariantCulture))).Skip(1).FirstOrDefault() == app; }
            catch (IOException) { return false; }
        }).ToList();

    /// <summary>Sends a GET for an app chosen by its host name.</summary>
    public Task<HttpResponseMessage> GetAsync(string host, string path, IDictionary<string, string>? headers = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Host = host;
        foreach (var (name, value) in headers ?? new Dictionary<string, string>()) request.Headers.TryAddWithoutValidation(name, value);
        return Client.SendAsync(request);
    }

    /// <summary>Sends SIGTERM (as Ctrl-C or Kubernetes would) and waits for the exit code.</summary>
    public async Task<int> StopAsync(TimeSpan? timeout = null)
    {
        if (!_process.HasExited) Kill(_process.Id, 15);
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    /// <summary>SIGKILL: the node dies without cleaning up.</summary>
    public async Task KillHardAsync()
    {
        _orphans = RecordedAppPids();
        if (!_process.HasExited) Kill(_process.Id, 9);
        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        Management.Dispose();
        if (!_process.HasExited)
        {
            try { await StopAsync(TimeSpan.FromSeconds(30)); }
            catch (OperationCanceledException) { _process.Kill(entireProcessTree: true); }
        }
        // A node killed with SIGKILL leaves its app processes behind (as a crashed pod would); they are ours to end.
        foreach (var orphan in _orphans.Where(IsAlive)) Kill(orphan, 9);
        _process.Dispose();
    }

    /// <summary>True while the PID exists and is not a zombie.</summary>
    public static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var state = stat[(stat.LastIndexOf(')') + 2)..][0];
            return state is not ('Z' or 'X');
        }
        catch (IOException) { return false; }
    }

    /// <summary>Resident set size peak (VmHWM) of a process in bytes.</summary>
    public static long PeakRss(int pid) => StatusField(pid, "VmHWM:");

    public static long Rss(int pid) => StatusField(pid, "VmRSS:");

    private static long StatusField(int pid, string field)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith(field, StringComparison.Ordinal));
        return long.Parse(line[field.Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
    }

    public static void Kill(int pid, int signal) => SysKill(pid, signal);

    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int SysKill(int pid, int signal);

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
    }
}
