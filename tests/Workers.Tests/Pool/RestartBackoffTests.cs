using Porter.Workers.Pool;

namespace Porter.Workers.Tests.Pool;

public sealed class RestartBackoffTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Delay_doubles_from_half_a_second_up_to_thirty()
    {
        var backoff = new RestartBackoff(RestartBackoff.Settings.Default);
        var delays = Enumerable.Range(0, 9).Select(i => backoff.RecordCrash(T0.AddMinutes(i * 2)).TotalSeconds).ToArray();
        Assert.Equal([0.5, 1, 2, 4, 8, 16, 30, 30, 30], delays);
    }

    [Fact]
    public void Healthy_minute_resets_the_delay()
    {
        var backoff = new RestartBackoff(RestartBackoff.Settings.Default);
        backoff.RecordCrash(T0);
        backoff.RecordCrash(T0);
        Assert.Equal(TimeSpan.FromSeconds(2), backoff.NextDelay);
        backoff.RecordHealthy();
        Assert.Equal(TimeSpan.FromSeconds(0.5), backoff.RecordCrash(T0.AddMinutes(5)));
    }

    [Fact]
    public void Five_crashes_within_a_minute_is_a_crash_loop()
    {
        var backoff = new RestartBackoff(RestartBackoff.Settings.Default);
        for (var i = 0; i < 4; i++) backoff.RecordCrash(T0.AddSeconds(i * 10));
        Assert.False(backoff.IsCrashLoop(T0.AddSeconds(40)));
        backoff.RecordCrash(T0.AddSeconds(50));
        Assert.True(backoff.IsCrashLoop(T0.AddSeconds(50)));
    }

    [Fact]
    public void Crashes_spread_wider_than_the_window_are_not_a_loop()
    {
        var backoff = new RestartBackoff(RestartBackoff.Settings.Default);
        for (var i = 0; i < 10; i++) backoff.RecordCrash(T0.AddSeconds(i * 20));
        Assert.False(backoff.IsCrashLoop(T0.AddSeconds(180)));
    }
}
