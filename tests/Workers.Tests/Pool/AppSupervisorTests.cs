using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Porter.Contracts.Ids;
using Porter.Contracts.Options;
using Porter.Contracts.Pool;
using Porter.Workers.Pool;
using Porter.Workers.Spawning;
using static Porter.Workers.Tests.Pool.FakeProcess;

namespace Porter.Workers.Tests.Pool;

/// <summary>Supervisor decisions with stand-in process actors: no OS processes involved.</summary>
public sealed class AppSupervisorTests : TestKit
{
    // A shared 2-core machine can be slow to schedule actors: waits get room, assertions stay the same.
    public AppSupervisorTests() : base("akka.test.single-expect-default = 10s") { }

    private static readonly RestartBackoff.Settings FastBackoff =
        new(TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(40), TimeSpan.FromMinutes(1), 5, TimeSpan.FromSeconds(60));

    private static readonly SpawnPlan Plan = new(AppType.Command, "/bin/true", [], "/", new Dictionary<string, string>());

    private sealed record Harness(IActorRef Supervisor, AppPool Pool, TestProbe Processes, ListLogger Log)
    {
        public ProcessEndpoint Endpoint(int pid) => Pool.Routable.Single(e => e.Pid.Value == pid);
        public int[] RoutablePids => Pool.Routable.Select(e => e.Pid.Value).Order().ToArray();
    }

    private Harness Start(Func<int, Script> script, AppOptions? app = null, RestartBackoff.Settings? backoff = null,
        IActorRef? slots = null, Func<ProcessId, ProcessMetrics.Sample?>? metrics = null)
    {
        app ??= new AppOptions();
        app.Name = "app";
        app.Root = "/";
        var pool = new AppPool(new AppName("app"), new AppPool.Limits(100, TimeSpan.Zero, TimeSpan.FromSeconds(5)));
        var processes = CreateTestProbe();
        var log = new ListLogger();
        var settings = new SupervisorSettings(backoff ?? FastBackoff, TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(50),
            metrics ?? (_ => null));
        var count = 0;
        var concurrency = app.Concurrency ?? 0;
        var supervisor = Sys.ActorOf(AppSupervisor.Props(app, pool, () => Plan, _ =>
        {
            var pid = Interlocked.Increment(ref count);
            return Props.Create(() => new FakeProcess(pid, script(pid), processes.Ref, concurrency, app.MaxRequests));
        }, slots ?? Sys.ActorOf(Props.Create(() => new UnlimitedSlots())), log, settings));
        return new Harness(supervisor, pool, processes, log);
    }

    private static int Pid(object message) => ((Spawned)message).Pid;

    [Fact]
    public void Keeps_min_instances_running()
    {
        var h = Start(_ => Script.Ready, new AppOptions { MinInstances = 3 });
        Assert.Equal([1, 2, 3], h.Processes.ReceiveN(3).Select(Pid).Order());
        AwaitCondition(() => h.Pool.Routable.Count == 3);
        h.Processes.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void Crashed_process_is_replaced_until_one_is_ready()
    {
        var h = Start(n => n >= 3 ? Script.Ready : Script.Fail);
        Assert.Equal([1, 2, 3], h.Processes.ReceiveN(3).Select(Pid));
        AwaitCondition(() => h.Pool.Routable.Count == 1);
        Assert.Equal(3, h.Pool.Routable[0].Pid.Value);
        Assert.Null(h.Pool.CurrentFailure);
    }

    [Fact]
    public void Crash_loop_marks_the_app_failing_and_keeps_retrying()
    {
        var h = Start(n => n >= 8 ? Script.Wait : Script.Fail);
        Assert.Equal([1, 2, 3, 4, 5], h.Processes.ReceiveN(5).Select(Pid));
        AwaitCondition(() => h.Pool.CurrentFailure is not null);
        Assert.Contains("exited with code 1", h.Pool.CurrentFailure!.Reason);
        Assert.Equal(["stderr line"], h.Pool.CurrentFailure.StderrTail);
        // Retries go on with backoff; once a process is ready the failure clears.
        var retries = h.Processes.ReceiveN(3).Cast<Spawned>().ToList();
        Assert.Equal([6, 7, 8], retries.Select(s => s.Pid));
        Assert.NotNull(h.Pool.CurrentFailure);
        retries[2].Process.Tell(new MakeReady());
        AwaitCondition(() => h.Pool.CurrentFailure is null && h.Pool.Routable.Count == 1);
    }

    [Fact]
    public void Backoff_doubles_with_each_crash_and_resets_after_a_healthy_period()
    {
        var backoff = new RestartBackoff.Settings(TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(80),
            TimeSpan.FromMilliseconds(300), 100, TimeSpan.FromSeconds(60));
        var h = Start(n => n >= 5 ? Script.Wait : Script.Fail, backoff: backoff);
        var processes = h.Processes.ReceiveN(5).Cast<Spawned>().ToList();
        Assert.Equal([0.02, 0.04, 0.08, 0.08], h.Log.Delays);

        processes[4].Process.Tell(new MakeReady());
        AwaitCondition(() => h.Pool.Routable.Count == 1);
        // Longer than the healthy period: the next crash starts over from the initial delay.
        h.Processes.ExpectNoMsg(TimeSpan.FromMilliseconds(500));
        processes[4].Process.Tell(new Crash());
        h.Processes.ExpectMsg<Spawned>();
        Assert.Equal(0.02, h.Log.Delays[^1]);
    }

    [Fact]
    public async Task Queued_requests_start_several_processes_without_waiting_for_a_slow_start()
    {
        var h = Start(n => n == 1 ? Script.Ready : Script.Wait, new AppOptions { Concurrency = 1, MaxInstances = 4 });
        h.Processes.ExpectMsg<Spawned>();
        AwaitCondition(() => h.Pool.Routable.Count == 1);
        var held = await h.Pool.AcquireAsync(null, default);
        var queued = Enumerable.Range(0, 3).Select(_ => h.Pool.AcquireAsync(null, default).AsTask()).ToList();

        // Three queued requests at concurrency 1: three more processes, all starting at once; max-instances stops there.
        var spawned = h.Processes.ReceiveN(3).Cast<Spawned>().ToList();
        Assert.Equal([2, 3, 4], spawned.Select(s => s.Pid).Order());
        h.Processes.ExpectNoMsg(TimeSpan.FromMilliseconds(200));

        foreach (var s in spawned) s.Process.Tell(new MakeReady());
        var served = await Task.WhenAll(queued).WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal([2, 3, 4], served.Select(q => q.Endpoint!.Pid.Value).Order());
        Assert.NotNull(held.Endpoint);
    }

    [Fact]
    public async Task Idle_processes_above_min_instances_stop_and_min_instances_survive_a_crash()
    {
        var h = Start(_ => Script.Ready, new AppOptions { MinInstances = 1, Concurrency = 1, PoolIdleTime = 0.2 });
        h.Processes.ExpectMsg<Spawned>();
        AwaitCondition(() => h.Pool.Routable.Count == 1);
        var first = (await h.Pool.AcquireAsync(null, default)).Endpoint!;
        var second = h.Pool.AcquireAsync(null, default).AsTask();
        var survivor = h.Processes.ExpectMsg<Spawned>();
        Assert.Equal(2, survivor.Pid);
        var secondEndpoint = (await second).Endpoint!;
        h.Pool.Release(first);
        h.Pool.Release(secondEndpoint);

        // Both idle; only the one above min-instances goes, least recently used first.
        var stopped = h.Processes.ExpectMsg<StopRequested>(TimeSpan.FromSeconds(3));
        Assert.Equal(first.Pid.Value, stopped.Pid);
        AwaitCondition(() => h.Pool.Routable.Count == 1);
        h.Processes.ExpectNoMsg(TimeSpan.FromMilliseconds(600));
        // The idle stop (which exited with 143) was no crash: no backoff was logged.
        Assert.Empty(h.Log.Delays);

        // The last process crashes: min-instances brings a new one.
        survivor.Process.Tell(new Crash());
        h.Processes.ExpectMsg<Spawned>();
        AwaitCondition(() => h.Pool.Routable.Count == 1 && h.Pool.Routable[0].Pid.Value == 3);
    }

    [Fact]
    public async Task Max_requests_starts_the_successor_before_the_old_process_leaves_and_lets_it_finish()
    {
        var h = Start(n => n == 1 ? Script.Ready : Script.Wait, new AppOptions { MaxRequests = 2 });
        h.Processes.ExpectMsg<Spawned>();
        AwaitCondition(() => h.Pool.Routable.Count == 1);
        var old = h.Endpoint(1);
        h.Pool.Release((await h.Pool.AcquireAsync(null, default)).Endpoint!);
        var inFlight = (await h.Pool.AcquireAsync(null, default)).Endpoint!;
        var stillServing = (await h.Pool.AcquireAsync(null, default)).Endpoint!;
        h.Pool.Release(stillServing);

        var successor = h.Processes.ExpectMsg<Spawned>();
        Assert.Equal(2, successor.Pid);
        // Until the successor is ready, the old process keeps serving.
        Assert.Equal([1], h.RoutablePids);
        successor.Process.Tell(new MakeReady());
        AwaitCondition(() => h.RoutablePids.SequenceEqual([2]));
        Assert.True(old.IsDisabled);
        // One request is still running on the old process: it is not stopped before that ends.
        h.Processes.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        h.Pool.Release(inFlight);
        Assert.Equal(1, h.Processes.ExpectMsg<StopRequested>().Pid);
        Assert.Empty(h.Log.Delays);
    }

    [Fact]
    public void Max_memory_replaces_a_process_whose_rss_is_above_the_limit()
    {
        var rss = new Dictionary<int, long> { [1] = 300L << 20, [2] = 50L << 20 };
        var h = Start(_ => Script.Ready, new AppOptions { MaxMemory = 100 },
            metrics: pid => new ProcessMetrics.Sample(rss.GetValueOrDefault(pid.Value), TimeSpan.Zero));
        Assert.Equal(1, h.Processes.ExpectMsg<Spawned>().Pid);
        Assert.Equal(2, h.Processes.ExpectMsg<Spawned>().Pid);
        Assert.Equal(1, h.Processes.ExpectMsg<StopRequested>().Pid);
        AwaitCondition(() => h.RoutablePids.SequenceEqual([2]));
        h.Processes.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public void Rolling_restart_replaces_one_process_at_a_time_and_never_drops_below_min_instances()
    {
        var h = Start(n => n <= 2 ? Script.Ready : Script.Wait, new AppOptions { MinInstances = 2 });
        h.Processes.ReceiveN(2);
        AwaitCondition(() => h.Pool.Routable.Count == 2);

        h.Supervisor.Tell(new PoolProtocol.RestartApp(new AppName("app")), TestActor);
        ExpectMsg<PoolProtocol.RestartStarted>(r => r.Method == RestartMethod.Rolling);
        var third = h.Processes.ExpectMsg<Spawned>();
        h.Processes.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        Assert.Equal([1, 2], h.RoutablePids);

        // The old process drains while the next successor starts: those two events come in either order.
        third.Process.Tell(new MakeReady());
        var step = h.Processes.ReceiveN(2).ToList();
        var firstStopped = step.OfType<StopRequested>().Single().Pid;
        var fourth = step.OfType<Spawned>().Single();
        Assert.Equal(2, h.Pool.Routable.Count);
        fourth.Process.Tell(new MakeReady());
        var secondStopped = h.Processes.ExpectMsg<StopRequested>().Pid;
        Assert.Equal([1, 2], new[] { firstStopped, secondStopped }.Order());
        AwaitCondition(() => h.RoutablePids.SequenceEqual([3, 4]));
        h.Processes.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void Blocking_restart_stops_every_process_before_starting_new_ones()
    {
        var h = Start(_ => Script.Ready, new AppOptions { MinInstances = 2, RestartMethod = RestartMethod.Blocking });
        h.Processes.ReceiveN(2);
        AwaitCondition(() => h.Pool.Routable.Count == 2);

        h.Supervisor.Tell(new PoolProtocol.RestartApp(new AppName("app")), TestActor);
        ExpectMsg<PoolProtocol.RestartStarted>(r => r.Method == RestartMethod.Blocking);
        var events = h.Processes.ReceiveN(4).ToList();
        Assert.IsType<StopRequested>(events[0]);
        Assert.IsType<StopRequested>(events[1]);
        Assert.Equal([3, 4], events.Skip(2).Select(Pid).Order());
        AwaitCondition(() => h.RoutablePids.SequenceEqual([3, 4]));
    }

    [Fact]
    public async Task Always_restart_request_returns_once_old_processes_left_rotation()
    {
        var h = Start(n => n == 1 ? Script.Ready : Script.Wait);
        h.Processes.ExpectMsg<Spawned>();
        AwaitCondition(() => h.Pool.Routable.Count == 1);
        await h.Pool.RestartAsync(RestartMethod.Blocking, default).WaitAsync(TimeSpan.FromSeconds(3));
        Assert.Empty(h.Pool.Routable);
        Assert.Equal(1, h.Processes.ExpectMsg<StopRequested>().Pid);
        var fresh = h.Processes.ExpectMsg<Spawned>();
        // A request arriving meanwhile joins the running restart instead of starting another.
        await h.Pool.RestartAsync(RestartMethod.Blocking, default).WaitAsync(TimeSpan.FromSeconds(3));
        fresh.Process.Tell(new MakeReady());
        AwaitCondition(() => h.RoutablePids.SequenceEqual([2]));
        h.Processes.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public async Task Nothing_starts_without_a_slot_and_a_denied_replacement_stops_the_old_process_first()
    {
        var slots = CreateTestProbe();
        var h = Start(_ => Script.Ready, new AppOptions { MaxRequests = 1 }, slots: slots.Ref);
        var first = slots.ExpectMsg<PoolSlots.Request>();
        Assert.False(first.Replacement);
        h.Processes.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        slots.Reply(new PoolSlots.Granted(first.RequestId));
        h.Processes.ExpectMsg<Spawned>();
        AwaitCondition(() => h.Pool.Routable.Count == 1);

        h.Pool.Release((await h.Pool.AcquireAsync(null, default)).Endpoint!);
        var replacement = slots.ExpectMsg<PoolSlots.Request>();
        Assert.True(replacement.Replacement);
        slots.Reply(new PoolSlots.Denied(replacement.RequestId));
        // No room for both: the old process goes first and its slot starts the successor; no new slot is asked for.
        Assert.Equal(1, h.Processes.ExpectMsg<StopRequested>().Pid);
        Assert.Equal(2, h.Processes.ExpectMsg<Spawned>().Pid);
        slots.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public async Task Idle_process_yields_to_another_app_only_above_min_instances()
    {
        var slots = CreateTestProbe();
        var h = Start(_ => Script.Ready, new AppOptions { MinInstances = 1, Concurrency = 1 }, slots: slots.Ref);
        slots.Reply(new PoolSlots.Granted(slots.ExpectMsg<PoolSlots.Request>().RequestId));
        AwaitCondition(() => h.Pool.Routable.Count == 1);

        h.Supervisor.Tell(new PoolSlots.YieldIdle(new ProcessId(1)), slots.Ref);
        slots.ExpectMsg<PoolSlots.YieldRefused>();

        var held = (await h.Pool.AcquireAsync(null, default)).Endpoint!;
        var queued = h.Pool.AcquireAsync(null, default).AsTask();
        slots.Reply(new PoolSlots.Granted(slots.ExpectMsg<PoolSlots.Request>().RequestId));
        var second = (await queued).Endpoint!;
        Assert.Equal(2, second.Pid.Value);
        h.Pool.Release(second);

        // Process 1 is busy, process 2 idle and above min-instances: 2 goes, and its slot back to the manager.
        h.Supervisor.Tell(new PoolSlots.YieldIdle(new ProcessId(1)), slots.Ref);
        slots.ExpectMsg<PoolSlots.YieldRefused>();
        h.Supervisor.Tell(new PoolSlots.YieldIdle(new ProcessId(2)), slots.Ref);
        h.Processes.FishForMessage(m => m is StopRequested { Pid: 2 });
        Assert.Equal(new ProcessId(2), slots.FishForMessage<PoolSlots.Release>(_ => true).Pid);
        h.Pool.Release(held);
    }

    [Fact]
    public async Task Pool_state_lists_processes_with_their_counters()
    {
        var h = Start(_ => Script.Ready, new AppOptions { MinInstances = 2 },
            metrics: pid => new ProcessMetrics.Sample(pid.Value * 1000L, TimeSpan.Zero));
        AwaitCondition(() => h.Pool.Routable.Count == 2);
        var session = (await h.Pool.AcquireAsync(null, default)).Endpoint!;

        h.Supervisor.Tell(PoolProtocol.GetPoolState.Instance, TestActor);
        var state = ExpectMsg<AppPoolState>();
        Assert.Equal("app", state.App.Value);
        Assert.Equal(0, state.Spawning);
        Assert.False(state.Restarting);
        Assert.Equal(2, state.Processes.Count);
        Assert.All(state.Processes, p => Assert.Equal(ProcessLifecycle.Enabled, p.State));
        Assert.Equal(1, state.Processes.Single(p => p.Pid == session.Pid).Sessions);
        Assert.Equal(session.Pid.Value * 1000L, state.Processes.Single(p => p.Pid == session.Pid).RssBytes);
        Assert.Equal(session.RouteId, state.Processes.Single(p => p.Pid == session.Pid).RouteId);
    }
}
