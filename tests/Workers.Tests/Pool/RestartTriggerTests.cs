using Porter.Workers.Pool;
using static Porter.Workers.Pool.RestartTrigger;

namespace Porter.Workers.Tests.Pool;

public sealed class RestartTriggerTests
{
    private static readonly DateTime T0 = new(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    private readonly Dictionary<string, DateTime> _files = new();
    private int _stats;

    private RestartTrigger Trigger(double throttleSeconds) =>
        new("/app", TimeSpan.FromSeconds(throttleSeconds), path =>
        {
            _stats++;
            return _files.TryGetValue(path, out var mtime) ? mtime : null;
        });

    [Fact]
    public void Touching_restart_txt_asks_for_one_restart()
    {
        var trigger = Trigger(0);
        Assert.Equal(Outcome.None, trigger.Check(T0));
        _files["/app/tmp/restart.txt"] = T0;
        Assert.Equal(Outcome.Restart, trigger.Check(T0.AddSeconds(1)));
        Assert.Equal(Outcome.None, trigger.Check(T0.AddSeconds(2)));
        _files["/app/tmp/restart.txt"] = T0.AddSeconds(5);
        Assert.Equal(Outcome.Restart, trigger.Check(T0.AddSeconds(6)));
    }

    [Fact]
    public void Restart_txt_from_before_the_start_restarts_nothing()
    {
        _files["/app/tmp/restart.txt"] = T0;
        var trigger = Trigger(0);
        Assert.Equal(Outcome.None, trigger.Check(T0.AddSeconds(1)));
    }

    [Fact]
    public void Files_are_read_at_most_once_per_throttle_period()
    {
        var trigger = Trigger(10);
        _stats = 0;
        trigger.Check(T0);
        _files["/app/tmp/restart.txt"] = T0.AddSeconds(1);
        Assert.Equal(Outcome.None, trigger.Check(T0.AddSeconds(5)));
        var statsWithinPeriod = _stats;
        Assert.Equal(Outcome.Restart, trigger.Check(T0.AddSeconds(10)));
        Assert.Equal(2, statsWithinPeriod);
    }

    [Fact]
    public void Always_restart_txt_asks_on_every_request_while_it_exists()
    {
        var trigger = Trigger(10);
        _files["/app/tmp/always_restart.txt"] = T0;
        Assert.Equal(Outcome.RestartEveryRequest, trigger.Check(T0));
        // Within the throttle period the last answer stands, as Passenger's cached stat does.
        Assert.Equal(Outcome.RestartEveryRequest, trigger.Check(T0.AddSeconds(1)));
        _files.Remove("/app/tmp/always_restart.txt");
        Assert.Equal(Outcome.None, trigger.Check(T0.AddSeconds(11)));
    }
}
