using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using Porter.Contracts.Options;
using Porter.Workers.Spawning;

namespace Porter.Workers.Tests.Spawning;

/// <summary>
/// Ending orphans at start with real processes and PID records on disk: only processes whose recorded owner (a node
/// process, by PID and start time) is dead are ended; those of a live owner, and records naming no owner, are left alone.
/// </summary>
public sealed class ProcessRegistryTests : IDisposable
{
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), $"porter-registry-{Guid.NewGuid():N}");
    private readonly List<Process> _started = new();

    private string RecordDir => Path.Combine(_dataDir, "pids");

    private Process Sleeper()
    {
        var process = Process.Start(new ProcessStartInfo("sleep", "60") { UseShellExecute = false })!;
        _started.Add(process);
        return process;
    }

    private void Record(Process app, string? owner)
    {
        Directory.CreateDirectory(RecordDir);
        var start = ProcessTree.StartTime(app.Id);
        File.WriteAllText(Path.Combine(RecordDir, app.Id.ToString(CultureInfo.InvariantCulture)),
            owner is null ? $"{start}\ntestapp\n" : $"{start}\ntestapp\n{owner}\n");
    }

    private Task StartRegistryAsync() =>
        new ProcessRegistry(new PorterOptions { DataDir = _dataDir }, NullLogger<ProcessRegistry>.Instance).StartAsync(default);

    [Fact]
    public async Task Orphan_whose_owner_is_alive_is_left_running_with_its_record()
    {
        var app = Sleeper();
        // The owner is this test process, alive, with its real start time: another node sharing the dir.
        Record(app, $"{Environment.ProcessId} {ProcessTree.StartTime(Environment.ProcessId)}");

        await StartRegistryAsync();

        Assert.False(app.WaitForExit(500), "the process of a live owner was ended");
        Assert.True(File.Exists(Path.Combine(RecordDir, app.Id.ToString(CultureInfo.InvariantCulture))));
    }

    [Fact]
    public async Task Orphan_whose_owner_is_dead_is_ended_and_its_record_removed()
    {
        var app = Sleeper();
        // This PID with another start time: the owner's PID was reused, so the owner itself is gone.
        Record(app, $"{Environment.ProcessId} 1");

        await StartRegistryAsync();

        Assert.True(app.WaitForExit(10_000), "the orphan of a dead owner was not ended");
        Assert.False(File.Exists(Path.Combine(RecordDir, app.Id.ToString(CultureInfo.InvariantCulture))));
    }

    [Fact]
    public async Task Record_without_an_owner_never_ends_its_process()
    {
        var app = Sleeper();
        Record(app, owner: null);

        await StartRegistryAsync();

        Assert.False(app.WaitForExit(500), "a process whose owner is unknown was ended");
    }

    public void Dispose()
    {
        foreach (var process in _started)
        {
            if (!process.HasExited) process.Kill();
            process.Dispose();
        }
        if (Directory.Exists(_dataDir)) Directory.Delete(_dataDir, recursive: true);
    }
}
