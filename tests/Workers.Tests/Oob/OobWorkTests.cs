using System.Collections.Concurrent;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Porter.Contracts.Ids;
using Porter.Contracts.Oob;
using Porter.Contracts.Options;
using Porter.Contracts.Pool;
using Porter.Workers.Oob;
using Porter.Workers.Pool;
using Porter.Workers.Spawning;
using Porter.Workers.Tests.Pool;
using static Porter.Workers.Tests.Pool.FakeProcess;

namespace Porter.Workers.Tests.Oob;

/// <summary>
/// The worker side of out-of-band work: an <see cref="AppSupervisor"/> with stand-in processes and real
/// <see cref="OobRunner"/>s, a probe playing the coordinator, and a work call the test completes. The order under test:
/// a process keeps serving while it waits for its token, leaves rotation only once granted, then drains, works, releases.
/// </summary>
public sealed class OobWorkTests : TestKit
{
    public OobWorkTests() : base("akka.test.single-expect-default = 10s") { }

    private static readonly SpawnPlan Plan = new(AppType.Command, "/bin/true", [], "/", new Dictionary<string, string>());

    /// <summary>One work call the test decides the outcome of.</summary>
    private sealed record WorkCall(int Pid, long TokenId, TaskCompletionSource<OobOutcome> Outcome);

    private sealed record Harness(IActorRef Supervisor, AppPool Pool, TestProbe Processes, TestProbe Coordinator, BlockingCollection<WorkCall> Calls,
        ListLogger Log)
    {
        public ProcessEndpoint Endpoint(int pid) => Pool.Routable.Single(e => e.Pid.Value == pid);
        public int[] RoutablePids => Pool.Routable.Select(e => e.Pid.Value).Order().ToArray();

        public WorkCall NextCall() =>
            Calls.TryTake(out var call, TimeSpan.FromSeconds(10)) ? call : throw new TimeoutException("no OOB work call");
    }

    private Harness Start(AppOptions app, Func<int, Script>? script = null, OobOptions? oobOptions = null, TimeSpan? stopGrace = null)
    {
        app.Name = "app";
        app.Root = "/";
        var pool = new AppPool(new AppName("app"), new AppPool.Limits(100, TimeSpan.Zero, TimeSpan.FromSeconds(5)));
        var processes = CreateTestProbe();
        var coordinator = CreateTestProbe();
        var calls = new BlockingCollection<WorkCall>();
        var settings = new SupervisorSettings(RestartBackoff.Settings.Default with { Initial = TimeSpan.FromMilliseconds(10) },
            stopGrace ?? TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5), _ => null);
        var oob = new OobRunnerSettings(coordinator.Ref, "node-a", oobOptions ?? new OobOptions(), TimeSpan.FromMilliseconds(300), (endpoint, token, _) =>
        {
            var outcome = new TaskCompletionSource<OobOutcome>(TaskCreationOptions.RunContinuationsAsynchronously);
            calls.Add(new WorkCall(endpoint.Pid.Value, token, outcome));
            return outcome.Task;
        });
        var log = new ListLogger();
        var count = 0;
        var concurrency = app.Concurrency ?? 0;
        var supervisor = Sys.ActorOf(AppSupervisor.Props(app, pool, () => Plan, _ =>
            {
                var pid = Interlocked.Increment(ref count);
                return Props.Create(() => new FakeProcess(pid, (script ?? (_ => Script.Ready))(pid), processes.Ref, concurrency, 0));
            }, Sys.ActorOf(Props.Create(() => new UnlimitedSlots())), log, settings,
            endpoint => OobRunner.Props(new AppName("app"), endpoint, oob, log)));
        return new Harness(supervisor, pool, processes, coordinator, calls, log);
    }

    private static OobProtocol.TokenGranted Grant(OobProtocol.RequestToken request, long tokenId) =>
        new(tokenId, request.Scope, request.App, request.Node, request.Pid, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddMinutes(2));

    private AppPoolState AppStateOf(Harness h)
    {
        h.Supervisor.Tell(PoolProtocol.GetPoolState.Instance, TestActor);
        return ExpectMsg<AppPoolState>();
    }

    private ProcessState StateOf(Harness h, int pid) => AppStateOf(h).Processes.Single(p => p.Pid.Value == pid);

    [Fact]
    public async Task Process_keeps_serving_while_it_waits_for_its_token_and_leaves_rotation_only_once_granted()
    {
        var h = Start(new AppOptions { MinInstances = 2 });
        AwaitCondition(() => h.Pool.Routable.Count == 2);
        var first = (await h.Pool.AcquireAsync(null, default)).Endpoint!;
        var inFlight = (await h.Pool.AcquireAsync(null, first, default)).Endpoint!;
        Assert.Same(first, inFlight);

        // The response asks for OOB work: the token is asked for at once, while the process still serves.
        h.Pool.Release(first, oobRequested: true);
        var pid = first.Pid.Value;
        var request = h.Coordinator.ExpectMsg<OobProtocol.RequestToken>();
        Assert.Equal((OobOptions.ClusterScopeKey, "app", "node-a", pid), (request.Scope, request.App.Value, request.Node, request.Pid.Value));
        // Unanswered requests are sent again (the singleton may be moving); the process stays in rotation meanwhile.
        Assert.Equal(request with { ReplyTo = null }, h.Coordinator.ExpectMsg<OobProtocol.RequestToken>() with { ReplyTo = null });
        request.ReplyTo!.Tell(new OobProtocol.TokenQueued(request.Scope, request.App, request.Node, request.Pid, 1));
        var waiting = StateOf(h, pid);
        Assert.Equal((ProcessLifecycle.Enabled, "waiting-for-token"), (waiting.State, waiting.Oob));
        Assert.Contains(pid, h.RoutablePids);
        Assert.False(first.IsDisabled);
        // It keeps taking new requests while it waits.
        var servedWhileWaiting = (await h.Pool.AcquireAsync(null, first, default)).Endpoint!;
        Assert.Same(first, servedWhileWaiting);
        h.Pool.Release(servedWhileWaiting);
        Assert.Empty(h.Calls);

        // Granted: now it leaves rotation, and drains its request in flight before the work call.
        request.ReplyTo.Tell(Grant(request, 7));
        AwaitCondition(() => !h.RoutablePids.Contains(pid));
        Assert.True(first.IsDisabled);
        var draining = StateOf(h, pid);
        Assert.Equal((ProcessLifecycle.Disabled, "draining"), (draining.State, draining.Oob));
        Assert.False(h.Calls.TryTake(out _, TimeSpan.FromMilliseconds(300)));
        h.Pool.Release(inFlight, oobRequested: true);

        var call = h.NextCall();
        Assert.Equal((pid, 7L), (call.Pid, call.TokenId));
        AwaitAssert(() => Assert.Equal("working", StateOf(h, pid).Oob));
        Assert.DoesNotContain(pid, h.RoutablePids);
        call.Outcome.SetResult(OobOutcome.Completed);

        var release = h.Coordinator.FishForMessage<OobProtocol.ReleaseToken>(_ => true);
        Assert.Equal((7L, pid), (release.TokenId, release.Pid.Value));
        h.Coordinator.Reply(new OobProtocol.TokenReleased(7, true));
        AwaitCondition(() => h.RoutablePids.Contains(pid));
        Assert.False(first.IsDisabled);
        Assert.False(first.IsOobWanted);
        Assert.Null(StateOf(h, pid).Oob);
        // Nothing else happened to the pool: no process was stopped or started.
        h.Processes.ReceiveN(2);
        h.Processes.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public async Task Unanswered_token_request_drops_the_run_after_the_bound_and_the_process_never_leaves_rotation()
    {
        var h = Start(new AppOptions { MinInstances = 2 }, oobOptions: new OobOptions { TokenWaitTimeout = 1 });
        AwaitCondition(() => h.Pool.Routable.Count == 2);
        var endpoint = (await h.Pool.AcquireAsync(null, default)).Endpoint!;
        var pid = endpoint.Pid.Value;
        h.Pool.Release(endpoint, oobRequested: true);

        // The coordinator is gone (its node died, the singleton is moving): nobody answers. Until the bound, the process
        // serves; then the run is withdrawn with a cancel, counted, and logged once.
        var seen = new List<object>();
        var cancel = h.Coordinator.FishForMessage(m =>
        {
            seen.Add(m);
            return m is OobProtocol.CancelRequest;
        }, TimeSpan.FromSeconds(10));
        Assert.All(seen.SkipLast(1), m => Assert.IsType<OobProtocol.RequestToken>(m));
        Assert.Equal(pid, ((OobProtocol.CancelRequest)cancel).Pid.Value);
        AwaitAssert(() =>
        {
            var app = AppStateOf(h);
            Assert.Equal(1, app.OobDropped);
            Assert.Null(app.Processes.Single(p => p.Pid.Value == pid).Oob);
        });
        Assert.Equal([1, 2], h.RoutablePids);
        Assert.False(endpoint.IsOobWanted);
        Assert.Empty(h.Calls);

        // The process asks again; its next run waits until the withdrawal is acknowledged (the next run waits for the
        // previous one's end), then asks anew and is dropped again: counted, not logged a second time.
        var again = (await h.Pool.AcquireAsync(null, h.Endpoint(pid), default)).Endpoint!;
        h.Pool.Release(again, oobRequested: true);
        AwaitAssert(() => Assert.Equal("pending", StateOf(h, pid).Oob));
        h.Coordinator.Reply(new OobProtocol.RequestCancelled(new AppName("app"), "node-a", new ProcessId(pid), WasWaiting: true));
        Assert.Equal(pid, h.Coordinator.FishForMessage<OobProtocol.RequestToken>(_ => true).Pid.Value);
        h.Coordinator.FishForMessage<OobProtocol.CancelRequest>(_ => true, TimeSpan.FromSeconds(10));
        AwaitAssert(() => Assert.Equal(2, AppStateOf(h).OobDropped));
        Assert.Equal([1, 2], h.RoutablePids);
        Assert.Single(h.Log.Events, e => e.Message.Contains("got no out-of-band work token", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Grant_that_crosses_the_token_wait_bound_is_given_back_unused()
    {
        var h = Start(new AppOptions { MinInstances = 2 }, oobOptions: new OobOptions { TokenWaitTimeout = 1 });
        AwaitCondition(() => h.Pool.Routable.Count == 2);
        var endpoint = (await h.Pool.AcquireAsync(null, default)).Endpoint!;
        h.Pool.Release(endpoint, oobRequested: true);
        var cancel = h.Coordinator.FishForMessage<OobProtocol.CancelRequest>(_ => true, TimeSpan.FromSeconds(10));

        // The coordinator had granted just before the cancel arrived: the runner asks again, gets that token, and returns it.
        h.Coordinator.Reply(new OobProtocol.RequestCancelled(cancel.App, cancel.Node, cancel.Pid, WasWaiting: false));
        var again = h.Coordinator.FishForMessage<OobProtocol.RequestToken>(_ => true);
        again.ReplyTo!.Tell(Grant(again, 11));
        Assert.Equal(11L, h.Coordinator.FishForMessage<OobProtocol.ReleaseToken>(_ => true).TokenId);
        Assert.Empty(h.Calls);
        Assert.Equal([1, 2], h.RoutablePids);
    }

    [Fact]
    public async Task Granted_process_that_cannot_drain_within_the_grace_gives_the_token_back_and_serves_on()
    {
        var h = Start(new AppOptions { MinInstances = 2 }, stopGrace: TimeSpan.FromSeconds(1));
        AwaitCondition(() => h.Pool.Routable.Count == 2);
        var endpoint = (await h.Pool.AcquireAsync(null, default)).Endpoint!;
        var pid = endpoint.Pid.Value;
        var websocket = (await h.Pool.AcquireAsync(null, endpoint, default)).Endpoint!;
        h.Pool.Release(endpoint, oobRequested: true);
        var request = h.Coordinator.ExpectMsg<OobProtocol.RequestToken>();
        request.ReplyTo!.Tell(Grant(request, 12));
        AwaitCondition(() => !h.RoutablePids.Contains(pid));

        // A long request never ends: after the grace (the token held all along) the run is skipped and the token returned.
        Assert.Equal(12L, h.Coordinator.FishForMessage<OobProtocol.ReleaseToken>(_ => true, TimeSpan.FromSeconds(10)).TokenId);
        AwaitCondition(() => h.RoutablePids.Contains(pid));
        Assert.Empty(h.Calls);
        Assert.Null(StateOf(h, pid).Oob);
        h.Pool.Release(websocket);
    }

    [Fact]
    public async Task Requests_asking_again_while_a_run_is_pending_do_not_start_a_second_one()
    {
        var h = Start(new AppOptions { MinInstances = 2 });
        AwaitCondition(() => h.Pool.Routable.Count == 2);
        var first = (await h.Pool.AcquireAsync(null, default)).Endpoint!;
        var second = (await h.Pool.AcquireAsync(null, first, default)).Endpoint!;
        h.Pool.Release(first, oobRequested: true);
        h.Pool.Release(second, oobRequested: true);
        var request = h.Coordinator.ExpectMsg<OobProtocol.RequestToken>();
        request.ReplyTo!.Tell(Grant(request, 1));
        h.NextCall().Outcome.SetResult(OobOutcome.Completed);
        h.Coordinator.FishForMessage<OobProtocol.ReleaseToken>(_ => true);
        h.Coordinator.Reply(new OobProtocol.TokenReleased(1, true));
        AwaitCondition(() => h.Pool.Routable.Count == 2);
        Assert.False(h.Calls.TryTake(out _, TimeSpan.FromMilliseconds(300)));
    }

    [Fact]
    public async Task Next_run_asks_for_a_token_only_once_the_previous_release_is_acknowledged()
    {
        var h = Start(new AppOptions { MinInstances = 2 });
        AwaitCondition(() => h.Pool.Routable.Count == 2);
        var endpoint = (await h.Pool.AcquireAsync(null, default)).Endpoint!;
        var pid = endpoint.Pid.Value;
        h.Pool.Release(endpoint, oobRequested: true);
        var request = h.Coordinator.ExpectMsg<OobProtocol.RequestToken>();
        request.ReplyTo!.Tell(Grant(request, 16));
        h.NextCall().Outcome.SetResult(OobOutcome.Completed);
        var release = h.Coordinator.FishForMessage<OobProtocol.ReleaseToken>(_ => true);
        AwaitCondition(() => h.RoutablePids.Contains(pid));

        // The process asks again while the coordinator (moving, say) has not acknowledged the release: asking now would
        // get token 16 back, and the late release would end it under the new run. The new run waits, serving meanwhile.
        var again = (await h.Pool.AcquireAsync(null, h.Endpoint(pid), default)).Endpoint!;
        h.Pool.Release(again, oobRequested: true);
        AwaitAssert(() => Assert.Equal("pending", StateOf(h, pid).Oob));
        Assert.Contains(pid, h.RoutablePids);
        // Until the unanswered release is sent again (bounded wait, not a fixed window: a loaded machine delays timers),
        // nothing asks for a new token.
        var meanwhile = new List<object>();
        h.Coordinator.FishForMessage(m =>
        {
            meanwhile.Add(m);
            return m is OobProtocol.ReleaseToken { TokenId: 16 };
        }, TimeSpan.FromSeconds(10));
        Assert.DoesNotContain(meanwhile, m => m is OobProtocol.RequestToken);

        h.Coordinator.Reply(new OobProtocol.TokenReleased(16, true));
        var second = h.Coordinator.FishForMessage<OobProtocol.RequestToken>(_ => true);
        Assert.Equal(pid, second.Pid.Value);
        Assert.Equal(16L, release.TokenId);
    }

    [Fact]
    public async Task Timed_out_work_recycles_the_process_and_releases_the_token_after_it_exited()
    {
        var h = Start(new AppOptions { MinInstances = 2 });
        AwaitCondition(() => h.Pool.Routable.Count == 2);
        var endpoint = (await h.Pool.AcquireAsync(null, default)).Endpoint!;
        var pid = endpoint.Pid.Value;
        h.Pool.Release(endpoint, oobRequested: true);
        var request = h.Coordinator.ExpectMsg<OobProtocol.RequestToken>();
        request.ReplyTo!.Tell(Grant(request, 3));
        h.Processes.ReceiveN(2);

        h.NextCall().Outcome.SetResult(OobOutcome.TimedOut);
        // The process is stopped and a replacement keeps min-instances (in either order); the token goes back once the old process is gone.
        var events = h.Processes.ReceiveN(2).ToList();
        Assert.Equal(pid, events.OfType<StopRequested>().Single().Pid);
        Assert.Equal(3, events.OfType<Spawned>().Single().Pid);
        Assert.Equal(3L, h.Coordinator.FishForMessage<OobProtocol.ReleaseToken>(_ => true).TokenId);
        h.Coordinator.Reply(new OobProtocol.TokenReleased(3, true));
        AwaitCondition(() => h.RoutablePids.SequenceEqual(new[] { 1, 2, 3 }.Where(p => p != pid)));
    }

    [Fact]
    public async Task Process_crashing_during_its_work_is_replaced_and_its_token_released()
    {
        var h = Start(new AppOptions { MinInstances = 2 });
        AwaitCondition(() => h.Pool.Routable.Count == 2);
        var spawned = h.Processes.ReceiveN(2).Cast<Spawned>().ToDictionary(s => s.Pid);
        var endpoint = (await h.Pool.AcquireAsync(null, default)).Endpoint!;
        var pid = endpoint.Pid.Value;
        h.Pool.Release(endpoint, oobRequested: true);
        var request = h.Coordinator.ExpectMsg<OobProtocol.RequestToken>();
        request.ReplyTo!.Tell(Grant(request, 4));
        var call = h.NextCall();

        spawned[pid].Process.Tell(new Crash());
        Assert.Equal(3, h.Processes.ExpectMsg<Spawned>().Pid);
        // The work call fails with the process; the run counts as done and the token goes back.
        call.Outcome.SetResult(OobOutcome.Unreachable);
        Assert.Equal(4L, h.Coordinator.FishForMessage<OobProtocol.ReleaseToken>(_ => true).TokenId);
        h.Coordinator.Reply(new OobProtocol.TokenReleased(4, true));
        AwaitCondition(() => h.Pool.Routable.Count == 2 && !h.RoutablePids.Contains(pid));
    }

    [Fact]
    public async Task Only_routable_process_starts_a_spare_and_leaves_rotation_once_it_is_ready()
    {
        var h = Start(new AppOptions { MinInstances = 1 }, pid => pid == 1 ? Script.Ready : Script.Wait);
        h.Processes.ExpectMsg<Spawned>();
        AwaitCondition(() => h.Pool.Routable.Count == 1);
        var endpoint = (await h.Pool.AcquireAsync(null, default)).Endpoint!;
        h.Pool.Release(endpoint, oobRequested: true);

        var spare = h.Processes.ExpectMsg<Spawned>();
        Assert.Equal(2, spare.Pid);
        // Until the spare serves, the process keeps serving and asks for no token.
        h.Coordinator.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        Assert.Equal([1], h.RoutablePids);
        spare.Process.Tell(new MakeReady());
        // The spare serves: now the token is asked for, and both serve until it is granted.
        var request = h.Coordinator.ExpectMsg<OobProtocol.RequestToken>();
        Assert.Equal(1, request.Pid.Value);
        Assert.Equal([1, 2], h.RoutablePids);
        request.ReplyTo!.Tell(Grant(request, 2));
        AwaitCondition(() => h.RoutablePids.SequenceEqual([2]));
        h.NextCall().Outcome.SetResult(OobOutcome.Completed);
    }

    [Fact]
    public async Task Only_routable_process_without_room_for_a_spare_waits_until_the_queue_is_empty()
    {
        var h = Start(new AppOptions { MinInstances = 1, MaxInstances = 1, Concurrency = 1 });
        h.Processes.ExpectMsg<Spawned>();
        AwaitCondition(() => h.Pool.Routable.Count == 1);
        var first = (await h.Pool.AcquireAsync(null, default)).Endpoint!;
        var queued1 = h.Pool.AcquireAsync(null, default).AsTask();
        var queued2 = h.Pool.AcquireAsync(null, default).AsTask();
        h.Pool.Release(first, oobRequested: true);
        var second = (await queued1).Endpoint!;

        // One request still queued: the last process stays in rotation, no token is asked for, no spare is started.
        h.Coordinator.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        h.Processes.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        Assert.Equal([1], h.RoutablePids);
        h.Pool.Release(second);
        var third = (await queued2).Endpoint!;

        // The queue is empty: it asks for its token, still serving; granted, it leaves and works once the last request is done.
        var request = h.Coordinator.ExpectMsg<OobProtocol.RequestToken>();
        Assert.Equal([1], h.RoutablePids);
        request.ReplyTo!.Tell(Grant(request, 9));
        AwaitCondition(() => h.Pool.Routable.Count == 0);
        Assert.False(h.Calls.TryTake(out _, TimeSpan.FromMilliseconds(200)));
        h.Pool.Release(third);
        h.NextCall().Outcome.SetResult(OobOutcome.Completed);
        h.Coordinator.FishForMessage<OobProtocol.ReleaseToken>(_ => true);
        h.Coordinator.Reply(new OobProtocol.TokenReleased(9, true));
        AwaitCondition(() => h.RoutablePids.SequenceEqual([1]));
    }

    [Fact]
    public async Task Last_routable_process_granted_while_requests_queue_stays_in_rotation_until_the_queue_is_empty()
    {
        var h = Start(new AppOptions { MinInstances = 1, MaxInstances = 1, Concurrency = 1 });
        h.Processes.ExpectMsg<Spawned>();
        AwaitCondition(() => h.Pool.Routable.Count == 1);
        var first = (await h.Pool.AcquireAsync(null, default)).Endpoint!;
        h.Pool.Release(first, oobRequested: true);
        var request = h.Coordinator.ExpectMsg<OobProtocol.RequestToken>();

        // Requests queue up before the grant: holding the token, the app's only process still does not leave.
        var busy = (await h.Pool.AcquireAsync(null, default)).Endpoint!;
        var queued = h.Pool.AcquireAsync(null, default).AsTask();
        request.ReplyTo!.Tell(Grant(request, 10));
        AwaitAssert(() => Assert.Equal("granted", StateOf(h, 1).Oob));
        Assert.Equal([1], h.RoutablePids);
        h.Pool.Release(busy);
        var last = (await queued).Endpoint!;
        Assert.Equal(1, last.Pid.Value);

        // The queue is empty now: it leaves, drains the last request, and works.
        AwaitCondition(() => h.Pool.Routable.Count == 0);
        h.Pool.Release(last);
        var call = h.NextCall();
        Assert.Equal(10L, call.TokenId);
        call.Outcome.SetResult(OobOutcome.Completed);
        h.Coordinator.FishForMessage<OobProtocol.ReleaseToken>(_ => true);
        h.Coordinator.Reply(new OobProtocol.TokenReleased(10, true));
        AwaitCondition(() => h.RoutablePids.SequenceEqual([1]));
    }

    [Fact]
    public async Task Last_routable_process_whose_queue_never_empties_gives_its_token_back_after_the_grace()
    {
        var h = Start(new AppOptions { MinInstances = 1, MaxInstances = 1, Concurrency = 1 }, stopGrace: TimeSpan.FromSeconds(1));
        h.Processes.ExpectMsg<Spawned>();
        AwaitCondition(() => h.Pool.Routable.Count == 1);
        var first = (await h.Pool.AcquireAsync(null, default)).Endpoint!;
        h.Pool.Release(first, oobRequested: true);
        var request = h.Coordinator.ExpectMsg<OobProtocol.RequestToken>();
        var busy = (await h.Pool.AcquireAsync(null, default)).Endpoint!;
        var queued = h.Pool.AcquireAsync(null, default).AsTask();
        request.ReplyTo!.Tell(Grant(request, 13));

        // The queue stays: after the grace the token goes back unused, and the process never left rotation.
        Assert.Equal(13L, h.Coordinator.FishForMessage<OobProtocol.ReleaseToken>(_ => true, TimeSpan.FromSeconds(10)).TokenId);
        Assert.Equal([1], h.RoutablePids);
        Assert.Empty(h.Calls);
        h.Pool.Release(busy);
        h.Pool.Release((await queued).Endpoint!);
    }

    [Fact]
    public async Task Process_retired_while_waiting_for_a_token_cancels_and_releases_a_late_grant()
    {
        var h = Start(new AppOptions { MinInstances = 2 });
        AwaitCondition(() => h.Pool.Routable.Count == 2);
        var endpoint = (await h.Pool.AcquireAsync(null, default)).Endpoint!;
        h.Pool.Release(endpoint, oobRequested: true);
        var request = h.Coordinator.ExpectMsg<OobProtocol.RequestToken>();

        // A blocking restart retires every process; the runner withdraws its request.
        h.Supervisor.Tell(new PoolProtocol.RestartApp(new AppName("app"), RestartMethod.Blocking), TestActor);
        var cancel = h.Coordinator.FishForMessage<OobProtocol.CancelRequest>(_ => true);
        Assert.Equal(request.Pid, cancel.Pid);
        // The coordinator had granted meanwhile (the grant crossed the cancel): the token must come back, unused.
        h.Coordinator.Reply(new OobProtocol.RequestCancelled(cancel.App, cancel.Node, cancel.Pid, false));
        var again = h.Coordinator.FishForMessage<OobProtocol.RequestToken>(_ => true);
        again.ReplyTo!.Tell(Grant(again, 5));
        Assert.Equal(5L, h.Coordinator.FishForMessage<OobProtocol.ReleaseToken>(_ => true).TokenId);
        Assert.Empty(h.Calls);
    }
}
