using Porter.Workers.Pool;

namespace Porter.Workers.Tests.Pool;

public sealed class ScalingPolicyTests
{
    private static readonly DateTimeOffset Now = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    [Theory]
    // min, max, current, starting, queued, concurrency → target
    [InlineData(1, 0, 0, 0, 0, 0, 1)]   // min-instances come first
    [InlineData(2, 0, 2, 0, 0, 1, 2)]   // nothing queued: no more
    [InlineData(1, 0, 1, 0, 5, 2, 4)]   // 5 queued at concurrency 2: three more processes
    [InlineData(1, 0, 1, 0, 5, 0, 2)]   // unlimited concurrency: one new process takes the whole queue
    [InlineData(1, 0, 2, 1, 5, 0, 2)]   // ... and one already starting is enough
    [InlineData(1, 0, 3, 2, 3, 1, 4)]   // two starting processes absorb two of three queued requests
    [InlineData(1, 3, 1, 0, 10, 1, 3)]  // max-instances caps
    [InlineData(2, 1, 0, 0, 0, 0, 2)]   // min wins over a smaller max (refused at start anyway)
    public void Target_covers_min_instances_and_the_queue_within_max_instances(
        int min, int max, int current, int starting, int queued, int concurrency, int expected) =>
        Assert.Equal(expected, ScalingPolicy.Target(min, max, current, starting, queued, concurrency));

    private static ScalingPolicy.ProcessLoad<string> Load(string name, int sessions, int idleSeconds) =>
        new(name, sessions, Now.AddSeconds(-idleSeconds));

    [Fact]
    public void Idle_processes_stop_least_recently_used_first_down_to_min_instances()
    {
        var loads = new[] { Load("a", 0, 400), Load("b", 0, 900), Load("c", 0, 600), Load("d", 0, 10) };
        Assert.Equal(["b", "c"], ScalingPolicy.IdleToStop(loads, current: 4, minInstances: 2, TimeSpan.FromSeconds(300), Now));
    }

    [Fact]
    public void Busy_or_recently_used_processes_are_not_idle()
    {
        var loads = new[] { Load("busy", 1, 900), Load("recent", 0, 100) };
        Assert.Empty(ScalingPolicy.IdleToStop(loads, current: 2, minInstances: 0, TimeSpan.FromSeconds(300), Now));
    }

    [Fact]
    public void Zero_idle_time_keeps_every_process()
    {
        var loads = new[] { Load("a", 0, 9999) };
        Assert.Empty(ScalingPolicy.IdleToStop(loads, current: 1, minInstances: 0, TimeSpan.Zero, Now));
    }
}
