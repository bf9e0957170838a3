using Akka.Actor;

namespace Porter.Contracts.Oob;

/// <summary>Marker of the out-of-band work protocol between workers and the OOB coordinator singleton; the serializer binds to it.</summary>
public interface IOobMessage;

/// <summary>A process holding an out-of-band work token, as the coordinator records it (and persists it in <see cref="OobEvents.Granted"/>).</summary>
/// <param name="Scope">The scope key the token counts against (see <see cref="Options.OobOptions.ScopeKeyFor"/>).</param>
/// <param name="RequestedAt">When the process's waiting entry was created (its first request since it last held a token).</param>
/// <param name="LeaseExpiresAt">When the coordinator reclaims the token if it has not been released.</param>
public sealed record OobHolder(
    long TokenId,
    string Scope,
    AppName App,
    string Node,
    ProcessId Pid,
    DateTimeOffset RequestedAt,
    DateTimeOffset GrantedAt,
    DateTimeOffset LeaseExpiresAt);

/// <summary>A process waiting for a token in a scope's FIFO queue.</summary>
public sealed record OobWaiter(AppName App, string Node, ProcessId Pid, DateTimeOffset RequestedAt);

/// <summary>Running sums of out-of-band work for one app or the whole cluster; means are derived so the sums can be persisted as they are.</summary>
/// <param name="Grants">Tokens handed out (the denominator of the mean wait).</param>
/// <param name="Runs">Tokens released by their holder: completed runs (the denominator of the mean duration).</param>
/// <param name="Reclaims">Tokens taken back after their lease expired or their node left; their duration is unknown and not in the means.</param>
public sealed record OobCounters(long Grants, long Runs, long Reclaims, TimeSpan TotalWait, TimeSpan TotalDuration, TimeSpan MaxDuration)
{
    public static readonly OobCounters Empty = new(0, 0, 0, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero);

    public TimeSpan MeanWait => Grants == 0 ? TimeSpan.Zero : TotalWait / Grants;

    public TimeSpan MeanDuration => Runs == 0 ? TimeSpan.Zero : TotalDuration / Runs;
}

/// <summary>The counters of one app.</summary>
public sealed record OobAppCounters(AppName App, OobCounters Counters);

/// <summary>One scope's holders (in grant order) and waiters (in FIFO order).</summary>
public sealed record OobScopeState(string Scope, OobHolder[] Holders, OobWaiter[] Queue)
{
    public int QueueLength => Queue.Length;
}

/// <summary>Why a token was taken back from its holder.</summary>
public enum OobReclaimReason : byte
{
    /// <summary>Not released within the lease time.</summary>
    LeaseExpired = 0,

    /// <summary>The holder's node was downed or removed from the cluster.</summary>
    NodeLeft = 1,
}

/// <summary>The messages of the out-of-band work coordinator.</summary>
/// <remarks>
/// A requester is identified by (<c>Node</c>, <c>App</c>, <c>Pid</c>); <c>Node</c> is the node's cluster address as
/// <c>Cluster.SelfAddress.ToString()</c> prints it, which is how the coordinator matches it to membership changes.
/// Every command may be retried: when the singleton moves, a worker re-sends its <see cref="RequestToken"/> or
/// <see cref="ReleaseToken"/> until it gets an answer, and the answers are the same as for the first attempt.
/// </remarks>
public static class OobProtocol
{
    /// <summary>
    /// Asks for a token in <paramref name="Scope"/>. Answered with <see cref="TokenGranted"/> (now or later) or
    /// <see cref="TokenQueued"/> (then <see cref="TokenGranted"/> follows when the token is free). A waiting process that asks
    /// again keeps its place; a process that already holds a token gets that token again.
    /// </summary>
    /// <param name="ReplyTo">Where grants go; the sender when null (a retried request replaces the address of a waiting entry).</param>
    public sealed record RequestToken(string Scope, AppName App, string Node, ProcessId Pid, IActorRef? ReplyTo = null) : IOobMessage;

    /// <summary>The requester may start its out-of-band work; it must send <see cref="ReleaseToken"/> with <paramref name="TokenId"/> when done.</summary>
    public sealed record TokenGranted(long TokenId, string Scope, AppName App, string Node, ProcessId Pid, DateTimeOffset GrantedAt,
        DateTimeOffset LeaseExpiresAt) : IOobMessage;

    /// <summary>The request waits; <paramref name="Position"/> is 1 for the head of the scope's queue.</summary>
    public sealed record TokenQueued(string Scope, AppName App, string Node, ProcessId Pid, int Position) : IOobMessage;

    /// <summary>Gives a token back. Answered with <see cref="TokenReleased"/>; unknown, already released and reclaimed tokens are ignored.</summary>
    public sealed record ReleaseToken(long TokenId, AppName App, string Node, ProcessId Pid) : IOobMessage;

    /// <summary>Acknowledges a release; <paramref name="WasHeld"/> is false when the token was unknown, already released or reclaimed.</summary>
    public sealed record TokenReleased(long TokenId, bool WasHeld) : IOobMessage;

    /// <summary>Withdraws a process's waiting entry (the process exited or no longer needs the work). Answered with <see cref="RequestCancelled"/>.</summary>
    public sealed record CancelRequest(AppName App, string Node, ProcessId Pid) : IOobMessage;

    /// <summary>Acknowledges a cancellation; <paramref name="WasWaiting"/> is false when the process had no waiting entry.</summary>
    public sealed record RequestCancelled(AppName App, string Node, ProcessId Pid, bool WasWaiting) : IOobMessage;

    /// <summary>Asks for the coordinator's state; answered with <see cref="OobState"/>.</summary>
    public sealed record GetOobState : IOobMessage
    {
        public static readonly GetOobState Instance = new();
    }

    /// <summary>A snapshot of the coordinator: every scope with holders or waiters, and counters per app and cluster-wide.</summary>
    public sealed record OobState(int MaxConcurrent, DateTimeOffset At, OobScopeState[] Scopes, OobCounters Cluster, OobAppCounters[] Apps)
        : IOobMessage;
}

/// <summary>Marker of what the coordinator writes to its journal and snapshot store; the serializer binds to it.</summary>
public interface IOobPersistent;

/// <summary>The coordinator's journal events: grants, releases and reclaims (waiting entries are not persisted).</summary>
public static class OobEvents
{
    /// <summary>A token was handed to <see cref="Holder"/>.</summary>
    public sealed record Granted(OobHolder Holder) : IOobPersistent;

    /// <summary>The holder gave the token back.</summary>
    public sealed record Released(long TokenId, DateTimeOffset At) : IOobPersistent;

    /// <summary>The coordinator took the token back.</summary>
    public sealed record Reclaimed(long TokenId, DateTimeOffset At, OobReclaimReason Reason) : IOobPersistent;
}

/// <summary>The coordinator's snapshot: the outstanding tokens, the last token id handed out, and the counters.</summary>
public sealed record OobCoordinatorSnapshot(long LastTokenId, OobHolder[] Holders, OobCounters Cluster, OobAppCounters[] Apps) : IOobPersistent;
