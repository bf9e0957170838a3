using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Porter.Contracts.Options;

namespace Porter.Workers.Spawning;

/// <summary>
/// Knows every app process this node started. It records PIDs on disk so that the next start after a hard kill
/// can end the orphans, and on host stop it terminates whatever is still running and waits for it.
/// Each record names the app process (PID and start time) and its owner, this node process (PID and start time): a
/// process is only ended as an orphan when its owner is dead, so a node never ends another live node's apps.
/// </summary>
/// <remarks>Record format, one value per line: app process start time, app name, owner PID and owner start time.</remarks>
public sealed class ProcessRegistry(PorterOptions settings, ILogger<ProcessRegistry> logger) : IHostedService
{
    private readonly ConcurrentDictionary<int, AppProcessHandle> _live = new();
    private readonly ConcurrentDictionary<int, Task> _terminations = new();

    private string RecordDir => Path.Combine(settings.DataDir ?? Path.GetTempPath(), "pids");

    /// <summary>This node process as records name their owner.</summary>
    private static readonly string Owner =
        string.Create(CultureInfo.InvariantCulture, $"{Environment.ProcessId} {ProcessTree.StartTime(Environment.ProcessId)}");

    /// <summary>Tracks a new process and records its PID and start time.</summary>
    public void Add(AppProcessHandle handle)
    {
        _live[handle.Pid.Value] = handle;
        try
        {
            Directory.CreateDirectory(RecordDir);
            var start = ProcessTree.StartTime(handle.Pid.Value);
            File.WriteAllText(Path.Combine(RecordDir, handle.Pid.ToString()), $"{start}\n{handle.App}\n{Owner}\n");
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

    /// <summary>
    /// After a hard kill of the node its children live on: end those whose PID and start time we recorded, once their
    /// recorded owner is dead. A record whose owner still runs belongs to another node sharing this dir: left alone.
    /// </summary>
    private void EndOrphansFromEarlierRun()
    {
        if (!Directory.Exists(RecordDir)) return;
        foreach (var file in Directory.EnumerateFiles(RecordDir))
        {
            try
            {
                if (!int.TryParse(Path.GetFileName(file), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
                {
                    File.Delete(file);
                    continue;
                }
                var record = File.ReadLines(file).ToArray();
                if (OwnerOf(record) is not { } owner)
                {
                    // Written by a Porter before records named their owner: whose it is cannot be told, so it is not ended.
                    logger.LogWarning("PID record {Pid} names no owner node; leaving the process alone", pid);
                }
                else if (ProcessTree.StartTime(owner.Pid) == owner.StartTime)
                {
                    logger.LogWarning("Process {Pid} belongs to node process {Owner}, which is still running; leaving it alone " +
                        "(give each node its own --data-dir)", pid, owner.Pid);
                    continue;
                }
                else if (long.TryParse(record.FirstOrDefault(), NumberStyles.None, CultureInfo.InvariantCulture, out var startTime)
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

    /// <summary>The owner's PID and start time from a record's third line; null when the record has none.</summary>
    private static (int Pid, long StartTime)? OwnerOf(string[] record) =>
        record.Length > 2 && record[2].Split(' ') is [var pidText, var startText]
        && int.TryParse(pidText, NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
        && long.TryParse(startText, NumberStyles.None, CultureInfo.InvariantCulture, out var start)
            ? (pid, start)
            : null;
}
