using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Akka.Actor;
using Akka.Cluster;
using Microsoft.AspNetCore.Http;
using Porter.Hosting.Management;

namespace Porter.Workers.Management;

/// <summary>
/// The requests this worker holds right now: each waits in its app's queue, then is with one process until its
/// answer is sent. The dispatcher adds a request when it takes it and removes it when done (an add and a remove on a
/// concurrent dictionary, nothing else per request); everything else happens when someone asks, as the
/// <c>requests</c> report (<c>GET /requests</c>, <c>porter status --show=requests</c>).
/// </summary>
public sealed class InFlightRequests(ActorSystem system) : INodeReportSource
{
    /// <summary>Most requests one node lists (the oldest first); the report says how many more it holds.</summary>
    public const int ShownPerNode = 100;

    private readonly ConcurrentDictionary<long, Entry> _entries = new();
    private long _nextId;

    public string Kind => "requests";

    /// <summary>How many requests the node holds now (queued or with a process).</summary>
    public int Count => _entries.Count;

    /// <summary>Adds a request, queued until <see cref="Entry.AssignedTo"/>; disposing the entry removes it.</summary>
    public Entry Track(HttpContext context, string app)
    {
        var entry = new Entry(this, Interlocked.Increment(ref _nextId), context, app);
        _entries[entry.Id] = entry;
        return entry;
    }

    public sealed class Entry : IDisposable
    {
        private readonly InFlightRequests _owner;
        private int _pid;
        private long _assignedAt;

        internal Entry(InFlightRequests owner, long id, HttpContext context, string app)
        {
            _owner = owner;
            Id = id;
            App = app;
            StartedAt = Stopwatch.GetTimestamp();
            // References only (no copies, no strings built): the report reads these on another thread while the
            // request goes on, and the request's own collections may change meanwhile.
            var request = context.Request;
            Method = request.Method;
            PathBase = request.PathBase;
            Path = request.Path;
            ForwardedFor = request.Headers["X-Forwarded-For"];
            Peer = context.Connection.RemoteIpAddress;
            BytesIn = request.ContentLength;
            Response = context.Response;
        }

        internal long Id { get; }
        internal string Method { get; }
        internal PathString PathBase { get; }
        internal PathString Path { get; }
        internal Microsoft.Extensions.Primitives.StringValues ForwardedFor { get; }
        internal System.Net.IPAddress? Peer { get; }
        internal long? BytesIn { get; }
        internal HttpResponse Response { get; }
        internal string App { get; }
        internal long StartedAt { get; }

        /// <summary>The process serving the request, 0 while it waits for one.</summary>
        internal int Pid => Volatile.Read(ref _pid);

        internal long AssignedAt => Volatile.Read(ref _assignedAt);

        /// <summary>A process took the request (again, after a retry: the age counts from the first arrival).</summary>
        public void AssignedTo(int pid)
        {
            Volatile.Write(ref _assignedAt, Stopwatch.GetTimestamp());
            Volatile.Write(ref _pid, pid);
        }

        /// <summary>The request is back to waiting for a process (its first one failed before answering).</summary>
        public void Waiting() => Volatile.Write(ref _pid, 0);

        public void Dispose() => _owner._entries.TryRemove(Id, out _);
    }

    /// <summary>
    /// One request as the report lists it: what (the path without its query, which may hold secrets), from whom, for how
    /// long, and where. Bytes are the declared lengths (Content-Length of the request, and of the response once it started).
    /// </summary>
    public sealed record Snapshot(string App, int Pid, string Method, string Path, string? Client, double AgeSeconds, double WaitSeconds,
        long? BytesIn, long? BytesOut);

    /// <summary>Every request held now, the oldest first.</summary>
    public IReadOnlyList<Snapshot> List()
    {
        var now = Stopwatch.GetTimestamp();
        var list = new List<Snapshot>(_entries.Count);
        foreach (var entry in _entries.Values)
        {
            var pid = entry.Pid;
            var age = Stopwatch.GetElapsedTime(entry.StartedAt, now).TotalSeconds;
            // A waiting request's wait is its age; a served one's is the time until a process took it.
            var wait = pid == 0 ? age : Stopwatch.GetElapsedTime(entry.StartedAt, Math.Max(entry.StartedAt, entry.AssignedAt)).TotalSeconds;
            long? bytesOut = null;
            try
            {
                if (entry.Response.HasStarted) bytesOut = entry.Response.ContentLength;
            }
            catch (Exception e) when (e is ObjectDisposedException or InvalidOperationException)
            {
                // The request ended while we looked.
            }
            var path = entry.PathBase.Add(entry.Path).Value;
            list.Add(new Snapshot(entry.App, pid, entry.Method, string.IsNullOrEmpty(path) ? "/" : path, ClientOf(entry),
                Math.Round(age, 3), Math.Round(wait, 3), entry.BytesIn, bytesOut));
        }
        list.Sort((a, b) => b.AgeSeconds.CompareTo(a.AgeSeconds));
        return list;
    }

    /// <summary>
    /// The client as the edge saw it: the last X-Forwarded-For entry (the gateway sets it, in process or across the
    /// cluster), else the peer of this connection.
    /// </summary>
    private static string? ClientOf(Entry entry)
    {
        var forwarded = entry.ForwardedFor.ToString();
        if (forwarded.Length > 0) return forwarded[(forwarded.LastIndexOf(',') + 1)..].Trim();
        return entry.Peer?.ToString();
    }

    public Task<string> JsonAsync(CancellationToken cancellationToken)
    {
        var all = List();
        var shown = all.Take(ShownPerNode).ToList();
        var document = new
        {
            node = Cluster.Get(system).SelfAddress.ToString(),
            total = all.Count,
            shown = shown.Count,
            omitted = all.Count - shown.Count,
            apps = shown.GroupBy(r => r.App).OrderBy(g => g.Key, StringComparer.Ordinal).Select(app => new
            {
                name = app.Key,
                processes = app.Where(r => r.Pid != 0).GroupBy(r => r.Pid).OrderBy(p => p.Key).Select(p => new
                {
                    pid = p.Key,
                    requests = p.Select(r => new
                    {
                        method = r.Method,
                        path = r.Path,
                        client = r.Client,
                        ageSeconds = r.AgeSeconds,
                        queuedSeconds = r.WaitSeconds,
                        bytesIn = r.BytesIn,
                        bytesOut = r.BytesOut,
                    }),
                }),
                queued = app.Where(r => r.Pid == 0).Select(r => new
                {
                    method = r.Method,
                    path = r.Path,
                    client = r.Client,
                    waitSeconds = r.AgeSeconds,
                    bytesIn = r.BytesIn,
                }),
            }),
        };
        return Task.FromResult(JsonSerializer.Serialize(document));
    }
}
