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
/// <see cref="OobRunner"/>s, a probe playing the coordinator, and a work call the test completes.
/// </summary>
public sealed class OobWorkTests : TestKit
{
    public OobWorkTests() : base("akka.test.single-expect-default = 10s") { }

    private static readonly SpawnPlan Plan = new(AppType.Command, "/bin/true", [], "/", new Dictionary<string, string>());

    /// <summary>One work call the test decides the outcome of.</summary>
    private sealed record WorkCall(int Pid, long TokenId, TaskCompletionSource<OobOutcome> Outcome);

    private sealed record Harness(IActorRef Supervisor, AppPool Pool, TestProbe Processes, TestProbe Coordinator, BlockingCollection<WorkCall> Calls)
    {
        public ProcessEndpoint Endpoint(int pid) => Pool.Routable.Single(e => e.Pid.Value == pid);
        public int[] RoutablePids => Pool.Routable.Select(e => e.Pid.Value).Order().ToArray();

        public WorkCall NextCall() =>
            Calls.TryTake(out var call, TimeSpan.FromSeconds(10)) ? call : throw new TimeoutException("no OOB work call");
    }

    private Harness Start(AppOptions app, Func<int, Script>? script = null)
    {
        app.Name = "app";
        app.Root = "/";
        var pool = new AppPool(new AppName("app"), new AppPool.Limits(100, TimeSpan.Zero, TimeSpan.FromSeconds(5)));
        var processes = CreateTestProbe();
        var coordinator = CreateTestProbe();
        var calls = new BlockingCollection<WorkCall>();
        var settings = new SupervisorSettings(RestartBackoff.Settings.Default with { Initial = TimeSpan.FromMilliseconds(10) },
            TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5), _ => null);
        var oob = new OobRunnerSettings(coordinator.Ref, "node-a", new OobOptions(), TimeSpan.FromMilliseconds(300), (endpoint, token, _) =>
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
        return new Harness(supervisor, pool, processes, coordinator, calls);
    }

    private static OobProtocol.TokenGranted Grant(OobProtocol.RequestToken request, long tokenId) =>
        new(tokenId, request.Scope, request.App, request.Node, request.Pid, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddMinutes(2));

    private ProcessState StateOf(Harness h, int pid)
    {
        h.Supervisor.Tell(PoolProtocol.GetPoolState.Instance, TestActor);
        return ExpectMsg<AppPoolState>().Processes.Single(p => p.Pid.Value == pid);
    }

    [Fact]
    public async Task Process_leaves_rotation_drains_works_with_a_token_releases_it_and_comes_back()
    {
        var h = Start(new AppOptions { MinInstances = 2 });
        AwaitCondition(() => h.Pool.Routable.Count == 2);
        var first = (await h.Pool.AcquireAsync(null, default)).Endpoint!;
        var inFlight = (await h.Pool.AcquireAsync(null, first, default)).Endpoint!;
        Assert.Same(first, inFlight);

        h.Pool.Release(first, oobRequested: true);
        var pid = first.Pid.Value;
        AwaitCondition(() => !h.RoutablePids.Contains(pid));
        Assert.True(first.IsDisabled);
        Assert.Equal(ProcessLifecycle.Disabled, StateOf(h, pid).State);
        // A request still runs on it: no token is asked for before it ends.
        h.Coordinator.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        h.Pool.Release(inFlight, oobRequested: true);

        // Unanswered requests are sent again (the singleton may be moving); both name this process.
        var request = h.Coordinator.ExpectMsg<OobProtocol.RequestToken>();
        Assert.Equal((OobOptions.ClusterScopeKey, "app", "node-a", pid), (request.Scope, request.App.Value, request.Node, request.Pid.Value));
        Assert.Equal(request with { ReplyTo = null }, h.Coordinator.ExpectMsg<OobProtocol.RequestToken>() with { ReplyTo = null });
        request.ReplyTo!.Tell(new OobProtocol.TokenQueued(request.Scope, request.App, request.Node, request.Pid, 1));
        Assert.Empty(h.Calls);
        request.ReplyTo.Tell(Grant(request, 7));

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
        // get token 16 back, and the late release would end it under the new run. The new run waits, out of rotation.
        var again = (await h.Pool.AcquireAsync(null, h.Endpoint(pid), default)).Endpoint!;
        h.Pool.Release(again, oobRequested: true);
        AwaitCondition(() => !h.RoutablePids.Contains(pid));
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
        AwaitCondition(() => h.RoutablePids.SequenceEqual([2]));
        Assert.Equal(1, h.Coordinator.ExpectMsg<OobProtocol.RequestToken>().Pid.Value);
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

        // The queue is empty: it leaves rotation, and asks for its token once the last request is done.
        AwaitCondition(() => h.Pool.Routable.Count == 0);
        h.Coordinator.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        h.Pool.Release(third);
        var request = h.Coordinator.ExpectMsg<OobProtocol.RequestToken>();
        request.ReplyTo!.Tell(Grant(request, 9));
        h.NextCall().Outcome.SetResult(OobOutcome.Completed);
        h.Coordinator.FishForMessage<OobProtocol.ReleaseToken>(_ => true);
        h.Coordinator.Reply(new OobProtocol.TokenReleased(9, true));
        AwaitCondition(() => h.RoutablePids.SequenceEqual([1]));
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
