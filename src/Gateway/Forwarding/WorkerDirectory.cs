using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using Akka.Hosting;
using Porter.Contracts.Nodes;
using Porter.Workers.Hosting;
using static Akka.Cluster.ClusterEvent;

namespace Porter.Gateway.Forwarding;

/// <summary>
/// Keeps the gateway's <see cref="WorkerRoutes"/> true to the cluster: asks each Up worker member's node agent for
/// its endpoint and apps (again and again until it answers), and takes a worker out of the table as soon as it is
/// unreachable, leaving, exiting, downed or removed (back in when it is reachable again).
/// </summary>
public sealed class WorkerDirectory : ReceiveActor, IWithTimers
{
    private sealed record AskAgain;

    private sealed class Entry(Member member)
    {
        public Member Member { get; } = member;
        public NodeProtocol.WorkerInfo? Info { get; set; }
        public WorkerRoutes.Worker? Worker { get; set; }
        public bool Reachable { get; set; } = true;
    }

    private static readonly TimeSpan AskInterval = TimeSpan.FromSeconds(1);

    private readonly WorkerRoutes _routes;
    private readonly Dictionary<Address, Entry> _workers = new();
    private readonly ILoggingAdapter _log = Context.GetLogger();

    public ITimerScheduler Timers { get; set; } = null!;

    public WorkerDirectory(WorkerRoutes routes)
    {
        _routes = routes;
        Receive<MemberUp>(e => Add(e.Member));
        Receive<MemberWeaklyUp>(e => Add(e.Member));
        Receive<MemberLeft>(e => Remove(e.Member, "is leaving"));
        Receive<MemberExited>(e => Remove(e.Member, "exited"));
        Receive<MemberDowned>(e => Remove(e.Member, "was downed"));
        Receive<MemberRemoved>(e => Remove(e.Member, "was removed"));
        Receive<UnreachableMember>(e => SetReachable(e.Member, false));
        Receive<ReachableMember>(e => SetReachable(e.Member, true));
        Receive<IMemberEvent>(_ => { });
        Receive<NodeProtocol.WorkerInfo>(OnInfo);
        Receive<AskAgain>(_ => AskMissing());
    }

    protected override void PreStart() =>
        Cluster.Get(Context.System).Subscribe(Self, InitialStateAsEvents, typeof(IMemberEvent), typeof(IReachabilityEvent));

    protected override void PostStop() => Cluster.Get(Context.System).Unsubscribe(Self);

    private void Add(Member member)
    {
        if (!member.HasRole(WorkerRole.Name) || _workers.ContainsKey(member.Address)) return;
        _workers[member.Address] = new Entry(member);
        Ask(member.Address);
        if (!Timers.IsTimerActive("ask")) Timers.StartPeriodicTimer("ask", new AskAgain(), AskInterval);
    }

    private void Remove(Member member, string why)
    {
        if (!_workers.Remove(member.Address, out var entry)) return;
        if (entry.Info is not null) _log.Info("Worker {0} {1}: no longer routing to it", member.Address, why);
        Publish();
    }

    private void SetReachable(Member member, bool reachable)
    {
        if (!_workers.TryGetValue(member.Address, out var entry) || entry.Reachable == reachable) return;
        entry.Reachable = reachable;
        _log.Info("Worker {0} is {1}", member.Address, reachable ? "reachable again" : "unreachable: not routing to it");
        Publish();
    }

    private void OnInfo(NodeProtocol.WorkerInfo info)
    {
        if (!_workers.TryGetValue(Sender.Path.Address, out var entry) || entry.Info is not null) return;
        if (!Uri.TryCreate(info.Endpoint, UriKind.Absolute, out var endpoint))
        {
            _log.Warning("Worker {0} announced an endpoint that is not a URL: {1}", Sender.Path.Address, info.Endpoint);
            return;
        }
        entry.Info = info;
        entry.Worker = new WorkerRoutes.Worker(entry.Member.Address.ToString(), endpoint);
        _log.Info("Worker {0} serves [{1}] at {2}", entry.Member.Address, string.Join(", ", info.Apps), info.Endpoint);
        Publish();
    }

    private void AskMissing()
    {
        var missing = _workers.Values.Where(e => e.Info is null).ToArray();
        if (missing.Length == 0) Timers.Cancel("ask");
        foreach (var entry in missing) Ask(entry.Member.Address);
    }

    private void Ask(Address worker) =>
        Context.ActorSelection(new RootActorPath(worker) / "user" / NodeProtocol.AgentName).Tell(NodeProtocol.GetWorkerInfo.Instance, Self);

    private void Publish() => _routes.Publish(_workers.Values
        .Where(e => e is { Reachable: true, Worker: not null, Info: not null })
        .Select(e => (e.Worker!, e.Info!.Apps)));
}

/// <summary>Akka.Hosting registration of the worker directory.</summary>
public static class WorkerDirectoryHostingExtensions
{
    public static AkkaConfigurationBuilder WithWorkerDirectory(this AkkaConfigurationBuilder builder) =>
        builder.WithActors((system, registry, resolver) =>
            registry.Register<WorkerDirectory>(system.ActorOf(Props.Create(() => new WorkerDirectory(resolver.GetService<WorkerRoutes>())), "worker-directory")));
}
