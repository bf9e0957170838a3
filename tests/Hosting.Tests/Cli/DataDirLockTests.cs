using Porter.Hosting;

namespace Porter.Hosting.Tests.Cli;

/// <summary>The data dir lock with a real flock: a second holder is refused with one line naming --data-dir, until the first lets go.</summary>
public sealed class DataDirLockTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"porter-lock-{Guid.NewGuid():N}");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Second_node_on_a_locked_data_dir_is_refused_until_the_first_one_lets_go()
    {
        var first = DataDirLock.Acquire(_dir);

        // flock locks belong to an open file, so a second open in this same process conflicts as another node's would.
        var refused = Assert.Throws<DataDirLock.InUseException>(() => DataDirLock.Acquire(_dir));
        Assert.Contains("--data-dir", refused.Message);
        Assert.Contains(_dir, refused.Message);
        Assert.Contains($"(PID {Environment.ProcessId})", refused.Message);
        Assert.DoesNotContain('\n', refused.Message);

        first.Dispose();
        using var second = DataDirLock.Acquire(_dir);
    }
}
