using Akka.Actor;
using Akka.TestKit.Xunit2;
using Porter.Contracts.Ids;
using Porter.Contracts.Options;
using Porter.Contracts.Pool;
using Porter.Workers.Pool;
using Porter.Workers.Spawning;
using static Porter.Workers.Tests.Pool.FakeProcess;

namespace Porter.Workers.Tests.Pool;

/// <summary>The node-level pool: real supervisors under a real manager, with stand-in processes.</summary>
public sealed class PoolManagerTests : TestKit
{
    // A shared 2-core machine can be slow to schedule actors: waits get room, assertions stay the same.
    public PoolManagerTests() : base("akka.test.single-expect-default = 10s") { }

    private static readonly SpawnPlan Plan = new(AppType.Command, "/bin/true", [], "/", new Dictionary<string, string>());

    private (IActorRef Manager, PoolRegistry Pools, Akka.TestKit.TestProbe Processes) Start(int maxPoolSize, params AppOptions[] apps)
    {
        var options = new PorterOptions { MaxPoolSize = maxPoolSize, Apps = apps.ToList() };
        foreach (var app in apps) app.Root = "/";
        var pools = new PoolRegistry(options);
        var processes = CreateTestProbe();
        var settings = new SupervisorSettings(RestartBackoff.Settings.Default, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5), _ => null);
        var pid = 0;
        var manager = Sys.ActorOf(PoolManager.Props(options, pools, (app, pool, slots) =>
            AppSupervisor.Props(app, pool, () => Plan, _ =>
            {
                // App "b" gets PIDs from 100 on, so tests can tell the apps apart.
                var n = Interlocked.Increment(ref pid) + (app.Name == "b" ? 100 : 0);
                return Props.Create(() => new FakeProcess(n, Script.Ready, processes.Ref, app.Concurrency ?? 0, 0));
            }, slots, new ListLogger(), settings)));
        return (manager, pools, processes);
    }

    private static AppPool Pool(PoolRegistry pools, string app) => pools.Find(new AppName(app))!;

    [Fact]
    public async Task Full_pool_stops_an_idle_process_of_another_app_to_make_room()
    {
        var (_, pools, processes) = Start(3,
            new AppOptions { Name = "a", MinInstances = 1, Concurrency = 1 },
            new AppOptions { Name = "b", MinInstances = 1, Concurrency = 1 });
        processes.ReceiveN(2);
        AwaitCondition(() => Pool(pools, "a").Routable.Count == 1 && Pool(pools, "b").Routable.Count == 1);

        // A burst on a takes the pool's last slot; afterwards a has an idle process above its min-instances.
        var a = Pool(pools, "a");
        var first = (await a.AcquireAsync(null, default)).Endpoint!;
        var second = (await a.AcquireAsync(null, default)).Endpoint!;
        a.Release(first);
        a.Release(second);
        processes.ExpectMsg<Spawned>();

        // b needs a second process: the pool is full, so a's least recently used idle process gives way.
        var b = Pool(pools, "b");
        var onB = (await b.AcquireAsync(null, default)).Endpoint!;
        var waiting = b.AcquireAsync(null, default).AsTask();
        var stopped = processes.ExpectMsg<StopRequested>();
        Assert.Equal(first.Pid.Value, stopped.Pid);
        Assert.True(processes.ExpectMsg<Spawned>().Pid > 100);
        Assert.NotSame(onB, (await waiting.WaitAsync(TimeSpan.FromSeconds(5))).Endpoint);
        Assert.Single(a.Routable);
    }

    [Fact]
    public async Task Pool_never_exceeds_max_pool_size_and_waiting_requests_get_room_when_a_process_goes()
    {
        var (manager, pools, processes) = Start(2,
            new AppOptions { Name = "a", MinInstances = 1, Concurrency = 1 },
            new AppOptions { Name = "b", MinInstances = 1, Concurrency = 1 });
        processes.ReceiveN(2);
        AwaitCondition(() => Pool(pools, "b").Routable.Count == 1);

        // b is busy and a is at its min-instances: nothing can make room, b's second request waits.
        var b = Pool(pools, "b");
        var held = (await b.AcquireAsync(null, default)).Endpoint!;
        var waiting = b.AcquireAsync(null, default).AsTask();
        processes.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        manager.Tell(PoolProtocol.GetPoolState.Instance, TestActor);
        var state = ExpectMsg<PoolState>();
        Assert.Equal(2, state.ProcessCount);
        Assert.Equal(1, state.Apps.Single(s => s.App.Value == "b").QueueLength);

        b.Release(held);
        Assert.Same(held, (await waiting.WaitAsync(TimeSpan.FromSeconds(5))).Endpoint);
    }

    [Fact]
    public void Restart_reaches_the_app_and_an_unknown_app_is_reported()
    {
        var (manager, _, processes) = Start(6, new AppOptions { Name = "a" });
        processes.ExpectMsg<Spawned>();
        manager.Tell(new PoolProtocol.RestartApp(new AppName("a"), RestartMethod.Blocking), TestActor);
        Assert.Equal(new PoolProtocol.RestartStarted(new AppName("a"), RestartMethod.Blocking), ExpectMsg<PoolProtocol.RestartStarted>());
        processes.ExpectMsg<StopRequested>();
        processes.ExpectMsg<Spawned>();

        manager.Tell(new PoolProtocol.RestartApp(new AppName("nope")), TestActor);
        ExpectMsg(new PoolProtocol.UnknownApp(new AppName("nope")));
    }

    [Fact]
    public void Pool_state_covers_every_app_in_configuration_order()
    {
        var (manager, pools, processes) = Start(6, new AppOptions { Name = "a", MinInstances = 2 }, new AppOptions { Name = "b" });
        processes.ReceiveN(3);
        AwaitCondition(() => Pool(pools, "a").Routable.Count == 2 && Pool(pools, "b").Routable.Count == 1);
        manager.Tell(PoolProtocol.GetPoolState.Instance, TestActor);
        var state = ExpectMsg<PoolState>();
        Assert.Equal(6, state.MaxPoolSize);
        Assert.Equal(3, state.ProcessCount);
        Assert.Equal(["a", "b"], state.Apps.Select(a => a.App.Value));
        Assert.Equal(2, state.Apps[0].Processes.Count);
    }
}
