using System.Collections.Frozen;

namespace Porter.Gateway.Forwarding;

/// <summary>
/// The gateway's routing table to worker nodes, read on every request without locks: an immutable snapshot of
/// which workers serve which app, swapped by the <see cref="WorkerDirectory"/> actor, plus per-worker counters of
/// this gateway's requests in flight.
/// </summary>
public sealed class WorkerRoutes
{
    /// <summary>One worker node as this gateway uses it.</summary>
    public sealed class Worker(string node, Uri endpoint)
    {
        private int _inFlight;

        /// <summary>The node's cluster address.</summary>
        public string Node { get; } = node;

        /// <summary>The worker's internal dispatcher listener.</summary>
        public Uri Endpoint { get; } = endpoint;

        /// <summary>This gateway's requests currently forwarded to the worker.</summary>
        public int InFlight => Volatile.Read(ref _inFlight);

        public void Enter() => Interlocked.Increment(ref _inFlight);

        public void Exit() => Interlocked.Decrement(ref _inFlight);
    }

    private FrozenDictionary<string, Worker[]> _byApp = FrozenDictionary<string, Worker[]>.Empty;
    private int _rotation;

    /// <summary>Replaces the table: the workers usable now, each with the apps it serves.</summary>
    public void Publish(IEnumerable<(Worker Worker, string[] Apps)> workers) =>
        Volatile.Write(ref _byApp, workers
            .SelectMany(w => w.Apps.Select(app => (app, w.Worker)))
            .GroupBy(x => x.app, StringComparer.Ordinal)
            .ToFrozenDictionary(g => g.Key, g => g.Select(x => x.Worker).ToArray(), StringComparer.Ordinal));

    /// <summary>The workers usable for an app right now.</summary>
    public IReadOnlyList<Worker> For(string app) => Volatile.Read(ref _byApp).GetValueOrDefault(app) ?? [];

    /// <summary>The usable worker for the app with the fewest requests in flight from this gateway, skipping <paramref name="exclude"/>; null when none.</summary>
    public Worker? Pick(string app, IReadOnlyCollection<Worker> exclude)
    {
        if (!Volatile.Read(ref _byApp).TryGetValue(app, out var workers)) return null;
        Worker? best = null;
        // Start at a rotating index so ties (idle workers) take turns instead of piling on the first.
        var start = workers.Length > 1 ? (int)((uint)Interlocked.Increment(ref _rotation) % (uint)workers.Length) : 0;
        for (var i = 0; i < workers.Length; i++)
        {
            var candidate = workers[(start + i) % workers.Length];
            if (exclude.Contains(candidate)) continue;
            if (best is null || candidate.InFlight < best.InFlight) best = candidate;
        }
        return best;
    }
}
