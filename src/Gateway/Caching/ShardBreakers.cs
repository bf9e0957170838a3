using Akka.Actor;
using Akka.Hosting;
using Porter.CacheShard.Sharding;
using Porter.Contracts.Caching;
using Porter.Contracts.Ids;

namespace Porter.Gateway.Caching;

/// <summary>
/// A circuit breaker per turbocache shard on this gateway: while a shard's entity does not answer (its node died, is
/// cut off or is handing the shard over), requests skip it at once and go to the app as BYPASS, instead of each paying
/// the lookup budget. A tripped shard is re-probed in the background until it answers again.
/// </summary>
/// <remarks>
/// A shard trips when a request's lookup or invalidation runs out of its budget, and every shard whose last known
/// home is a node that becomes unreachable, starts leaving or is gone trips at once (<see cref="CacheMembership"/>):
/// requests already waiting on those shards are released (<see cref="ReleaseToken"/>). The home of a shard is the
/// node named by its last answer. Probes are <see cref="Contracts.Caching.CacheProtocol.Probe"/> messages, one per
/// open shard at a time; a probe that is not answered within <see cref="ProbeTimeout"/> is sent again after
/// <see cref="ProbeInterval"/>, and at once when the shard's home is removed or reachable again (a probe sent to a node
/// that is gone is lost; after its removal the shard gets a new home). Once the gateway starts stopping, every shard
/// stays open (<see cref="StopUsingEntities"/>).
/// A shard that has not answered this gateway yet may take longer than a lookup (it may be being allocated: a
/// coordinator round trip and a replicated write), so its requests wait up to <see cref="FirstAnswerBudget"/> instead
/// of the lookup budget (<see cref="BudgetFor"/>). Shards are not allocated ahead of their first request: allocated on
/// demand, they spread over the cache nodes Up at that moment, where the first node up would otherwise take them all.
/// Reads on the request path are two volatile fields; writes happen on trips and answers from a new home.
/// </remarks>
public sealed class ShardBreakers : IDisposable
{
    /// <summary>How long a probe waits: shards that are moving answer once they have a new home, which a waiting probe sees first.</summary>
    public static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(2);

    /// <summary>The pause between a probe that was not answered and the next.</summary>
    public static readonly TimeSpan ProbeInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>How long a request waits for a shard that has not answered this gateway yet (it may be being allocated).</summary>
    public static readonly TimeSpan FirstAnswerBudget = TimeSpan.FromMilliseconds(500);


    /// <summary>Sends a probe to a shard; answers the node that answered, or null (or throws) when none did within the timeout.</summary>
    public delegate Task<string?> ProbeShard(int shard, TimeSpan timeout, CancellationToken cancellationToken);

    private readonly CacheMessageExtractor _extractor;
    private readonly Shard[] _shards;
    private readonly ProbeShard _probe;
    private readonly TimeProvider _clock;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _disposed = new();
    private volatile bool _stopped;

    public ShardBreakers(CacheMessageExtractor shards, ProbeShard probe, TimeProvider clock, ILogger logger)
    {
        _extractor = shards;
        _shards = Enumerable.Range(0, shards.Shards).Select(_ => new Shard()).ToArray();
        _probe = probe;
        _clock = clock;
        _logger = logger;
    }

    /// <summary>
    /// The breakers of this gateway's turbocache: probes go to the shard region, member changes come from
    /// <see cref="CacheMembership"/>, and the host's stopping signal opens every shard.
    /// </summary>
    public static ShardBreakers ForEntities(IServiceProvider services)
    {
        var extractor = new CacheMessageExtractor();
        var entities = services.GetRequiredService<IRequiredActor<CacheEntity>>();
        var breakers = new ShardBreakers(extractor,
            async (shard, timeout, cancellationToken) =>
                (await entities.ActorRef.Ask<CacheProtocol.Probed>(new CacheProtocol.Probe(extractor.ProbeKey(shard)), timeout, cancellationToken)).Home,
            services.GetRequiredService<TimeProvider>(), services.GetRequiredService<ILogger<ShardBreakers>>());
        services.GetRequiredService<CacheMembership>().Changed += breakers.OnNodeChanged;
        services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.Register(breakers.StopUsingEntities);
        return breakers;
    }

    /// <summary>How long a request may wait for the shard: <paramref name="budget"/>, or <see cref="FirstAnswerBudget"/> before its first answer.</summary>
    public TimeSpan BudgetFor(int shard, TimeSpan budget) =>
        _shards[shard].Home is null && budget < FirstAnswerBudget ? FirstAnswerBudget : budget;

    /// <summary>The shard of <paramref name="key"/>.</summary>
    public int ShardOf(CacheKey key) => _extractor.ShardNumberOf(key);

    /// <summary>True while requests for the shard skip its entity (also for every shard once the gateway stops).</summary>
    public bool IsOpen(int shard) => _stopped || _shards[shard].Open;

    /// <summary>Cancelled when the shard trips: a request waiting on its entity goes on without it.</summary>
    public CancellationToken ReleaseToken(int shard) => _shards[shard].Release.Token;

    /// <summary>The shards requests skip now (all of them once the gateway is stopping).</summary>
    public int[] OpenShards => Enumerable.Range(0, _shards.Length).Where(IsOpen).ToArray();

    /// <summary>The node that last answered for the shard, or null before any answer.</summary>
    public string? HomeOf(int shard) => _shards[shard].Home;

    /// <summary>The shard's entity answered from <paramref name="home"/>.</summary>
    public void Answered(int shard, string home)
    {
        var state = _shards[shard];
        if (state.Home != home) state.Home = home;
    }

    /// <summary>Opens the shard (if closed), releases the requests waiting on it and starts probing it.</summary>
    public void Trip(int shard, string reason)
    {
        if (Open(shard))
            _logger.LogInformation("Turbocache shard {Shard} skipped: {Reason}; requests for its keys go to the app until it answers",
                shard, reason);
    }

    /// <summary>
    /// Reacts to a member's change: trips the shards it was home to when it stops answering, and probes them again at
    /// once when it is reachable again or gone for good (then they move to another node).
    /// </summary>
    public void OnNodeChanged(CacheNodeChanged change)
    {
        var node = change.Node.ToString();
        List<int>? tripped = null;
        for (int shard = 0; shard < _shards.Length; shard++)
        {
            var state = _shards[shard];
            if (state.Home != node) continue;
            if (change.State != CacheNodeState.Reachable && Open(shard))
                (tripped ??= []).Add(shard);
            else if (change.State is CacheNodeState.Reachable or CacheNodeState.Gone && state.Open)
                state.ProbeSoon.Cancel();
        }
        if (tripped is not null)
            _logger.LogWarning("Turbocache shards {Shards} skipped: their node {Node} is {State}; requests for their keys go to the app until they answer",
                string.Join(",", tripped), node, change.State);
    }

    /// <summary>The gateway is stopping: no request waits on any entity from now on (shards are being handed over).</summary>
    public void StopUsingEntities()
    {
        _stopped = true;
        foreach (var state in _shards) state.Release.Cancel();
    }

    // Only cancelled, never disposed: probe loops may still read its token.
    public void Dispose() => _disposed.Cancel();

    /// <summary>Opens the shard; false if it was open already (its probe runs).</summary>
    private bool Open(int shard)
    {
        var state = _shards[shard];
        lock (state)
        {
            if (state.Open) return false;
            state.Open = true;
            var released = state.Release;
            // A new source for the requests that come after the shard closes again; the old one is only cancelled (not
            // disposed), as requests may still link to its token.
            state.Release = new CancellationTokenSource();
            released.Cancel();
        }
        _ = ProbeUntilAnsweredAsync(shard);
        return true;
    }

    private async Task ProbeUntilAnsweredAsync(int shard)
    {
        var state = _shards[shard];
        var openedAt = _clock.GetTimestamp();
        while (!_stopped && !_disposed.IsCancellationRequested)
        {
            // Cancelled when the shard's home is reachable again or removed: the probe under way is cut short.
            var soon = state.ProbeSoon;
            using var wake = CancellationTokenSource.CreateLinkedTokenSource(_disposed.Token, soon.Token);
            string? home = null;
            try
            {
                home = await _probe(shard, ProbeTimeout, wake.Token);
            }
            catch (Exception) when (!_disposed.IsCancellationRequested)
            {
                // Not answered in time (or not deliverable yet): try again.
            }
            catch (Exception)
            {
                return;
            }
            if (home is not null)
            {
                state.Home = home;
                state.Open = false;
                _logger.LogInformation("Turbocache shard {Shard} answers again (from {Home}) after {Seconds:F1} s",
                    shard, home, _clock.GetElapsedTime(openedAt).TotalSeconds);
                return;
            }
            try
            {
                if (!soon.IsCancellationRequested) await Task.Delay(ProbeInterval, _clock, wake.Token);
            }
            catch (OperationCanceledException) when (!_disposed.IsCancellationRequested)
            {
                // Cut short: probe now.
            }
            catch (OperationCanceledException)
            {
                return;
            }
            if (soon.IsCancellationRequested)
                lock (state)
                    if (state.ProbeSoon == soon) state.ProbeSoon = new CancellationTokenSource();
        }
    }

    private sealed class Shard
    {
        public volatile bool Open;
        public volatile string? Home;
        public volatile CancellationTokenSource Release = new();
        public volatile CancellationTokenSource ProbeSoon = new();
    }
}
