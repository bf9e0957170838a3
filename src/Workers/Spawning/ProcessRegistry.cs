using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Porter.Contracts.Options;

namespace Porter.Workers.Spawning;

/// <summary>
/// Knows every app process this node started. It records PIDs on disk so that the next start after a hard kill
/// can end the orphans, and on host stop it terminates whatever is still running and waits for it.
/// </summary>
public sealed class ProcessRegistry(PorterOptions settings, ILogger<ProcessRegistry> logger) : IHostedService
{
    private readonly ConcurrentDictionary<int, AppProcessHandle> _live = new();
    private readonly ConcurrentDictionary<int, Task> _terminations = new();

    private string RecordDir => Path.Combine(settings.DataDir ?? Path.GetTempPath(), "pids");

    /// <summary>Tracks a new process and records its PID and start time.</summary>
    public void Add(AppProcessHandle handle)
    {
        _live[handle.Pid.Value] = handle;
        try
        {
            Directory.CreateDirectory(RecordDir);
            var start = ProcessTree.StartTime(handle.Pid.Value);
            File.WriteAllText(Path.Combine(RecordDir, handle.Pid.ToString()), $"{start}\n{handle.App}\n");
        }
        catch (IOException e)
        {
            logger.LogWarning(e, "Could not record PID {Pid} in {Dir}", handle.Pid.Value, RecordDir);
        }
        _ = handle.Exited.ContinueWith(_ => Forget(handle.Pid.Value), TaskScheduler.Default);
    }

    /// <summary>Starts a graceful termination (SIGTERM, then SIGKILL after the grace period) that host stop will await.</summary>
    public Task Terminate(AppProcessHandle handle) =>
        _terminations.GetOrAdd(handle.Pid.Value, pid => ProcessTree.TerminateAsync(pid, TimeSpan.FromSeconds(settings.ShutdownGrace)));

    /// <summary>PIDs of processes this node started that are still running.</summary>
    public IReadOnlyCollection<int> LivePids => _live.Keys.ToArray();

    public Task StartAsync(CancellationToken cancellationToken)
    {
        EndOrphansFromEarlierRun();
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        foreach (var handle in _live.Values) _ = Terminate(handle);
        await Task.WhenAll(_terminations.Values);
    }

    private void Forget(int pid)
    {
        _live.TryRemove(pid, out _);
        try { File.Delete(Path.Combine(RecordDir, pid.ToString(CultureInfo.InvariantCulture))); }
        catch (IOException) { }
    }

    /// <summary>After a hard kill of the node its children live on; end those whose PID and start time we recorded.</summary>
    private void EndOrphansFromEarlierRun()
    {
        if (!Directory.Exists(RecordDir)) return;
        foreach (var file in Directory.EnumerateFiles(RecordDir))
        {
            try
            {
                if (int.TryParse(Path.GetFileName(file), out var pid)
                    && File.ReadLines(file).FirstOrDefault() is { } recorded
                    && long.TryParse(recorded, out var startTime)
                    && ProcessTree.StartTime(pid) == startTime)
                {
                    logger.LogWarning("Ending process {Pid} left over from an earlier run", pid);
                    ProcessTree.Signal(pid, ProcessTree.SigKill);
                }
                File.Delete(file);
            }
            catch (IOException e)
            {
                logger.LogWarning(e, "Could not read PID record {File}", file);
            }
        }
    }
}
