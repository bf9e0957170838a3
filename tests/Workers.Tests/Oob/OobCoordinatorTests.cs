using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Porter.Contracts.Ids;
using Porter.Contracts.Oob;
using Porter.Contracts.Options;
using Porter.Workers.Oob;

namespace Porter.Workers.Tests.Oob;

/// <summary>
/// The coordinator as a plain persistent actor on the in-memory journal and snapshot store, with a fake clock driving
/// "now" and the lease timer. Membership changes arrive as the facts the coordinator translates cluster events into
/// (<see cref="OobCoordinatorClusterTests"/> shows the real events).
/// </summary>
public sealed class OobCoordinatorTests : TestKit
{
    private const string NodeA = "akka.tcp://porter@127.0.0.1:4001";
    private const string NodeB = "akka.tcp://porter@127.0.0.2:4001";
    private static readonly AppName Blog = new("blog");
    private static readonly AppName Shop = new("shop");
    private static readonly DateTimeOffset T0 = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private readonly FakeTimeProvider _clock = new(T0);

    public OobCoordinatorTests()
        : base("akka.persistence.snapshot-store.plugin = \"akka.persistence.snapshot-store.inmem\"")
    {
    }

    private static OobOptions Options(int maxConcurrent = 1, OobScope scope = OobScope.Cluster, int snapshotEvery = 100) =>
        new() { MaxConcurrent = maxConcurrent, Scope = scope, SnapshotEvery = snapshotEvery };

    private IActorRef Start(OobOptions? options = null, string persistenceId = "oob-test") =>
        Sys.ActorOf(OobCoordinator.Props(options ?? Options(), _clock, NullLogger.Instance, persistenceId));

    /// <summary>A requesting process: its probe receives the coordinator's answers.</summary>
    private sealed record Proc(TestProbe Probe, AppName App, string Node, ProcessId Pid, string Scope)
    {
        public OobProtocol.RequestToken Request => new(Scope, App, Node, Pid, Probe.Ref);
    }

    private Proc Process(int pid, AppName? app = null, string node = NodeA, OobOptions? options = null)
    {
        var name = app ?? Blog;
        return new Proc(CreateTestProbe(), name, node, new ProcessId(pid), (options ?? Options()).ScopeKeyFor(name));
    }

    private static OobProtocol.TokenGranted Granted(IActorRef coordinator, Proc process)
    {
        coordinator.Tell(process.Request);
        return ExpectGrant(process);
    }

    private static OobProtocol.TokenGranted ExpectGrant(Proc process)
    {
        var grant = process.Probe.ExpectMsg<OobProtocol.TokenGranted>();
        Assert.Equal((process.App, process.Node, process.Pid, process.Scope), (grant.App, grant.Node, grant.Pid, grant.Scope));
        return grant;
    }

    private static OobProtocol.TokenQueued Queued(IActorRef coordinator, Proc process, int position)
    {
        coordinator.Tell(process.Request);
        var queued = process.Probe.ExpectMsg<OobProtocol.TokenQueued>();
        Assert.Equal(position, queued.Position);
        return queued;
    }

    private OobProtocol.TokenReleased Release(IActorRef coordinator, OobProtocol.TokenGranted grant) =>
        Release(coordinator, grant.TokenId, grant.App, grant.Node, grant.Pid);

    private OobProtocol.TokenReleased Release(IActorRef coordinator, long tokenId, AppName app, string node, ProcessId pid)
    {
        coordinator.Tell(new OobProtocol.ReleaseToken(tokenId, app, node, pid), TestActor);
        return ExpectMsg<OobProtocol.TokenReleased>();
    }

    private OobProtocol.OobState State(IActorRef coordinator)
    {
        coordinator.Tell(OobProtocol.GetOobState.Instance, TestActor);
        return ExpectMsg<OobProtocol.OobState>();
    }

    private static int[] HolderPids(OobProtocol.OobState state) =>
        state.Scopes.SelectMany(s => s.Holders).OrderBy(h => h.TokenId).Select(h => h.Pid.Value).ToArray();

    private static int[] QueuePids(OobProtocol.OobState state, string scope = OobOptions.ClusterScopeKey) =>
        state.Scopes.SingleOrDefault(s => s.Scope == scope)?.Queue.Select(w => w.Pid.Value).ToArray() ?? [];

    private void Restart(ref IActorRef coordinator, OobOptions? options = null, string persistenceId = "oob-test")
    {
        Watch(coordinator);
        Sys.Stop(coordinator);
        ExpectTerminated(coordinator);
        coordinator = Start(options, persistenceId);
    }

    [Fact]
    public void Waiting_processes_are_granted_in_request_order()
    {
        var coordinator = Start();
        var first = Granted(coordinator, Process(1));
        var waiters = new[] { Process(2), Process(3, Shop), Process(4, node: NodeB) };
        for (var i = 0; i < waiters.Length; i++) Queued(coordinator, waiters[i], i + 1);
        Assert.Equal([2, 3, 4], QueuePids(State(coordinator)));

        var previous = first;
        foreach (var waiter in waiters)
        {
            Assert.True(Release(coordinator, previous).WasHeld);
            previous = ExpectGrant(waiter);
            Assert.Equal([waiter.Pid.Value], HolderPids(State(coordinator)));
        }
        Assert.Equal(1, first.TokenId);
        Assert.Equal(4, previous.TokenId);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Never_has_more_than_max_concurrent_tokens_outstanding(int maxConcurrent)
    {
        var options = Options(maxConcurrent);
        var coordinator = Start(options);
        var processes = Enumerable.Range(1, 5).Select(pid => Process(pid, options: options)).ToArray();

        var grants = processes.Take(maxConcurrent).Select(p => Granted(coordinator, p)).ToList();
        for (var i = maxConcurrent; i < processes.Length; i++) Queued(coordinator, processes[i], i - maxConcurrent + 1);
        Assert.Equal(maxConcurrent, HolderPids(State(coordinator)).Length);

        // Each release lets exactly one waiter in, in order, and the limit holds throughout.
        var next = maxConcurrent;
        while (grants.Count > 0)
        {
            var done = grants[0];
            grants.RemoveAt(0);
            Release(coordinator, done);
            if (next < processes.Length) grants.Add(ExpectGrant(processes[next++]));
            Assert.True(HolderPids(State(coordinator)).Length <= maxConcurrent);
        }
        Assert.Empty(HolderPids(State(coordinator)));
        foreach (var p in processes) p.Probe.ExpectNoMsg(TimeSpan.Zero);
    }

    [Fact]
    public void Cluster_scope_shares_one_limit_across_apps()
    {
        var coordinator = Start();
        Granted(coordinator, Process(1, Blog));
        Queued(coordinator, Process(2, Shop, NodeB), 1);
    }

    [Fact]
    public void App_scope_gives_each_app_its_own_limit()
    {
        var options = Options(scope: OobScope.App);
        var coordinator = Start(options);
        var blog = Granted(coordinator, Process(1, Blog, options: options));
        Queued(coordinator, Process(2, Blog, NodeB, options), 1);
        var shop = Granted(coordinator, Process(3, Shop, NodeB, options));

        Assert.Equal("app/blog", blog.Scope);
        Assert.Equal("app/shop", shop.Scope);
        var state = State(coordinator);
        Assert.Equal([2], QueuePids(state, "app/blog"));
        Assert.Equal([3], state.Scopes.Single(s => s.Scope == "app/shop").Holders.Select(h => h.Pid.Value));
    }

    [Fact]
    public void Expired_lease_is_reclaimed_and_the_next_waiter_granted()
    {
        var coordinator = Start();
        var first = Granted(coordinator, Process(1));
        Assert.Equal(T0 + TimeSpan.FromMinutes(2), first.LeaseExpiresAt);
        var second = Process(2);
        Queued(coordinator, second, 1);

        _clock.Advance(TimeSpan.FromMinutes(2) - TimeSpan.FromTicks(1));
        Assert.Equal([1], HolderPids(State(coordinator)));

        _clock.Advance(TimeSpan.FromTicks(1));
        var grant = ExpectGrant(second);
        Assert.Equal(T0 + TimeSpan.FromMinutes(4), grant.LeaseExpiresAt);
        var state = State(coordinator);
        Assert.Equal([2], HolderPids(state));
        Assert.Equal(1, state.Cluster.Reclaims);
        Assert.Equal(0, state.Cluster.Runs);
    }

    [Fact]
    public void Tokens_of_a_removed_node_are_reclaimed_at_once_and_its_waiters_dropped()
    {
        var coordinator = Start(Options(maxConcurrent: 2));
        Granted(coordinator, Process(1, node: NodeB));
        Granted(coordinator, Process(2, node: NodeB));
        Queued(coordinator, Process(3, node: NodeB), 1);
        var a1 = Process(4);
        var a2 = Process(5);
        Queued(coordinator, a1, 2);
        Queued(coordinator, a2, 3);

        coordinator.Tell(new OobCoordinator.NodeLeft(NodeB, "removed"));

        ExpectGrant(a1);
        ExpectGrant(a2);
        var state = State(coordinator);
        Assert.Equal([4, 5], HolderPids(state));
        Assert.Empty(QueuePids(state));
        Assert.Equal(2, state.Cluster.Reclaims);
    }

    [Fact]
    public void Tokens_of_a_node_that_left_gracefully_are_kept_until_their_leases_end_and_its_waiters_dropped()
    {
        // The leaver's process may still be running its OOB work while the node drains; giving its token away at once
        // could let two runs overlap, and after removal its release cannot arrive: the lease is what ends it.
        var coordinator = Start();
        Granted(coordinator, Process(1, node: NodeB));
        Queued(coordinator, Process(2, node: NodeB), 1);
        var waiter = Process(3);
        Queued(coordinator, waiter, 2);

        coordinator.Tell(new OobCoordinator.NodeLeftGracefully(NodeB));
        var state = State(coordinator);
        Assert.Equal([1], HolderPids(state));
        Assert.Equal([3], QueuePids(state));
        Assert.Equal(0, state.Cluster.Reclaims);

        _clock.Advance(TimeSpan.FromMinutes(2) - TimeSpan.FromTicks(1));
        Assert.Equal([1], HolderPids(State(coordinator)));
        _clock.Advance(TimeSpan.FromTicks(1));
        ExpectGrant(waiter);
        Assert.Equal(1, State(coordinator).Cluster.Reclaims);
    }

    [Fact]
    public void A_coordinator_that_starts_reclaims_tokens_of_nodes_no_longer_in_the_cluster()
    {
        var coordinator = Start();
        Granted(coordinator, Process(1, node: NodeB));
        var waiter = Process(2);
        Queued(coordinator, waiter, 1);
        coordinator.Tell(new OobCoordinator.MembersPresent(new HashSet<string> { NodeA }));

        ExpectGrant(waiter);
    }

    [Fact]
    public void Releases_of_unknown_released_or_reclaimed_tokens_are_ignored()
    {
        var coordinator = Start();
        Assert.False(Release(coordinator, 42, Blog, NodeA, new ProcessId(1)).WasHeld);

        var first = Granted(coordinator, Process(1));
        var second = Process(2);
        Queued(coordinator, second, 1);
        Assert.True(Release(coordinator, first).WasHeld);
        var secondGrant = ExpectGrant(second);
        Assert.False(Release(coordinator, first).WasHeld);
        Assert.Equal([2], HolderPids(State(coordinator)));

        // Someone else's token id: the holder keeps it.
        Assert.False(Release(coordinator, secondGrant.TokenId, Blog, NodeA, new ProcessId(1)).WasHeld);
        Assert.Equal([2], HolderPids(State(coordinator)));

        _clock.Advance(TimeSpan.FromMinutes(2));
        AwaitAssert(() => Assert.Empty(HolderPids(State(coordinator))));
        Assert.False(Release(coordinator, secondGrant).WasHeld);

        var state = State(coordinator);
        Assert.Equal((1L, 1L, 2L), (state.Cluster.Runs, state.Cluster.Reclaims, state.Cluster.Grants));
    }

    [Fact]
    public void A_waiting_process_that_asks_again_keeps_one_entry_and_its_place()
    {
        var coordinator = Start();
        var holder = Granted(coordinator, Process(1));
        var first = Process(2);
        var second = Process(3);
        Queued(coordinator, first, 1);
        Queued(coordinator, second, 2);

        // The retry comes from a new asker (the worker's previous one timed out): the grant goes there.
        var retry = first with { Probe = CreateTestProbe() };
        Queued(coordinator, retry, 1);
        Queued(coordinator, retry, 1);
        Assert.Equal([2, 3], QueuePids(State(coordinator)));

        Release(coordinator, holder);
        ExpectGrant(retry);
        first.Probe.ExpectNoMsg(TimeSpan.Zero);
        Assert.Equal([3], QueuePids(State(coordinator)));
    }

    [Fact]
    public void A_holder_that_asks_again_gets_its_own_token()
    {
        var coordinator = Start();
        var process = Process(1);
        var grant = Granted(coordinator, process);

        Assert.Equal(grant, Granted(coordinator, process));
        Assert.Equal([1], HolderPids(State(coordinator)));
    }

    [Fact]
    public void A_cancelled_request_leaves_the_queue()
    {
        var coordinator = Start();
        var holder = Granted(coordinator, Process(1));
        var leaving = Process(2);
        var staying = Process(3);
        Queued(coordinator, leaving, 1);
        Queued(coordinator, staying, 2);

        coordinator.Tell(new OobProtocol.CancelRequest(leaving.App, leaving.Node, leaving.Pid), TestActor);
        Assert.True(ExpectMsg<OobProtocol.RequestCancelled>().WasWaiting);
        coordinator.Tell(new OobProtocol.CancelRequest(leaving.App, leaving.Node, leaving.Pid), TestActor);
        Assert.False(ExpectMsg<OobProtocol.RequestCancelled>().WasWaiting);

        Release(coordinator, holder);
        ExpectGrant(staying);
        leaving.Probe.ExpectNoMsg(TimeSpan.Zero);
    }

    [Fact]
    public void Counts_runs_durations_and_waits_per_app_and_cluster_wide()
    {
        var coordinator = Start();
        var first = Granted(coordinator, Process(1, Blog));
        var second = Process(2, Shop);
        Queued(coordinator, second, 1);

        _clock.Advance(TimeSpan.FromSeconds(10));
        Release(coordinator, first);
        var grant = ExpectGrant(second);
        _clock.Advance(TimeSpan.FromSeconds(5));
        Release(coordinator, grant);

        var state = State(coordinator);
        Assert.Equal((2L, 2L, 0L), (state.Cluster.Grants, state.Cluster.Runs, state.Cluster.Reclaims));
        Assert.Equal(TimeSpan.FromSeconds(7.5), state.Cluster.MeanDuration);
        Assert.Equal(TimeSpan.FromSeconds(10), state.Cluster.MaxDuration);
        Assert.Equal(TimeSpan.FromSeconds(5), state.Cluster.MeanWait);
        var shop = state.Apps.Single(a => a.App == Shop).Counters;
        Assert.Equal(TimeSpan.FromSeconds(10), shop.MeanWait);
        Assert.Equal(TimeSpan.FromSeconds(5), shop.MeanDuration);
        Assert.Equal(TimeSpan.Zero, state.Apps.Single(a => a.App == Blog).Counters.MeanWait);
        Assert.Empty(state.Scopes);
    }

    [Theory]
    [InlineData(100)]
    [InlineData(2)]
    public void Recovers_an_outstanding_grant_after_a_restart_and_never_grants_a_second(int snapshotEvery)
    {
        var options = Options(snapshotEvery: snapshotEvery);
        var coordinator = Start(options);
        Release(coordinator, Granted(coordinator, Process(9)));
        var holder = Process(1);
        var grant = Granted(coordinator, holder);
        Queued(coordinator, Process(2), 1);

        Restart(ref coordinator, options);

        var state = State(coordinator);
        Assert.Equal([1], HolderPids(state));
        Assert.Empty(QueuePids(state)); // waiters re-request after a restart
        Assert.Equal((2L, 1L), (state.Cluster.Grants, state.Cluster.Runs));
        var late = Process(3);
        Queued(coordinator, late, 1);
        Assert.Equal(grant, Granted(coordinator, holder with { Probe = CreateTestProbe() }));

        Release(coordinator, grant);
        Assert.Equal(grant.TokenId + 1, ExpectGrant(late).TokenId);
    }

    [Fact]
    public void A_lease_that_expired_while_no_coordinator_ran_is_reclaimed_on_recovery()
    {
        var coordinator = Start();
        Granted(coordinator, Process(1));
        Watch(coordinator);
        Sys.Stop(coordinator);
        ExpectTerminated(coordinator);

        _clock.Advance(TimeSpan.FromMinutes(3));
        coordinator = Start();

        AwaitAssert(() => Assert.Empty(HolderPids(State(coordinator))));
        Assert.Equal(1, State(coordinator).Cluster.Reclaims);
    }
}
