namespace Porter.Contracts.Caching;

/// <summary>Marker of the turbocache protocol: every message names the primary key (the sharding entity id) it is about.</summary>
public interface ICacheMessage
{
    CacheKey Key { get; }
}

/// <summary>One header field with all its values, as the cache carries it between nodes.</summary>
public sealed record HeaderField(string Name, string[] Values);

/// <summary>Which variant of a key an entry is (the normalised values of the Vary'd request headers, and the vary cookie).</summary>
public sealed record VariantData(string[] HeaderNames, string?[] HeaderValues, string? CookieName, string? CookieValue)
{
    /// <summary>The variant of a response without Vary or vary cookie, shared so that entries do not each hold one.</summary>
    public static readonly VariantData None = new([], [], null, null);
}

/// <summary>A stored response with everything needed to rebuild it and compute its age on any node.</summary>
/// <param name="Headers">The stored header fields as one <see cref="HeaderBlock"/>: the form a cache node keeps them in.</param>
/// <param name="Body">Exactly the body's bytes (the array is as long as the body).</param>
public sealed record CacheEntryData(
    int StatusCode,
    byte[] Headers,
    byte[] Body,
    VariantData Variant,
    DateTimeOffset RequestTime,
    DateTimeOffset ResponseTime,
    DateTimeOffset Date,
    TimeSpan AgeValue,
    TimeSpan FreshnessLifetime,
    TimeSpan StaleWhileRevalidate,
    TimeSpan StaleIfError,
    byte Flags);

/// <summary>What a gateway should do after asking a cache entity about a request.</summary>
public enum LookupOutcome : byte
{
    /// <summary>Serve the entry (fresh, or allowed stale).</summary>
    Hit = 0,

    /// <summary>Serve the stale entry now and refresh it in the background: this gateway is the one refresher.</summary>
    StaleRefresh = 1,

    /// <summary>The entry is stale and has validators: revalidate it with the app; this gateway is the one filler.</summary>
    Revalidate = 2,

    /// <summary>Nothing usable: fetch from the app and store the answer; this gateway is the one filler, others wait.</summary>
    Fill = 3,

    /// <summary>Go to the app without coordinating (the key is pass-through, or a coalesced wait ended without a usable entry).</summary>
    Go = 4,

    /// <summary>
    /// Another request is filling the key: ask again with <see cref="LookupMode.JoinFill"/> to wait for its answer. The
    /// entity answers at once either way, so an asker can bound its wait on the entity apart from its wait on the fill.
    /// </summary>
    Wait = 5,
}

/// <summary>What a lookup asks of the key's entity.</summary>
public enum LookupMode : byte
{
    /// <summary>Answer from the store, or make the asker the filler, or tell it to <see cref="LookupOutcome.Wait"/>.</summary>
    Normal = 0,

    /// <summary>The request bypasses the cache but may refresh it: never answered from the store.</summary>
    Refresh = 1,

    /// <summary>Answered <see cref="LookupOutcome.Wait"/> before: wait for the running fill (answered when it ends), or, if none runs any more, as <see cref="Normal"/>.</summary>
    JoinFill = 2,
}

/// <summary>The messages of the turbocache's sharded entities.</summary>
public static class CacheProtocol
{
    /// <summary>Asks for the variant matching the request's headers.</summary>
    /// <param name="RequestId">Names the asking request (random per gateway, then counted up): a fill it is given is its fill, which only its own <see cref="FillAbandoned"/> ends.</param>
    public sealed record Lookup(CacheKey Key, HeaderField[] RequestHeaders, LookupMode Mode, long RequestId) : ICacheMessage;

    /// <summary>The answer to <see cref="Lookup"/>; <paramref name="Entry"/> is set for Hit, StaleRefresh and Revalidate (and for a stale-if-error fallback on Fill).</summary>
    /// <param name="Home">The address of the node whose entity answered: where the key's shard lives now.</param>
    public sealed record LookupResult(CacheKey Key, LookupOutcome Outcome, CacheEntryData? Entry, string Home) : ICacheMessage;

    /// <summary>A filler's storable response (or a refreshed entry after a 304); also accepted from a request that went uncoordinated.</summary>
    public sealed record Store(CacheKey Key, CacheEntryData Entry) : ICacheMessage;

    /// <summary>
    /// The request <paramref name="RequestId"/> will not store the key: if it is the key's filler, the waiters go to the
    /// app (or one of them fills); the key skips coalescing for a while if <paramref name="PassThrough"/>.
    /// </summary>
    public sealed record FillAbandoned(CacheKey Key, bool PassThrough, long RequestId) : ICacheMessage;

    /// <summary>Drops every variant of the key (an unsafe request changed the resource). Answered with <see cref="Invalidated"/>.</summary>
    public sealed record Invalidate(CacheKey Key) : ICacheMessage;

    /// <summary>Acknowledges an invalidation: the key's entity holds none of its variants any more.</summary>
    public sealed record Invalidated(CacheKey Key) : ICacheMessage;

    /// <summary>Asks the entity of <paramref name="Key"/>'s shard whether it answers, without touching the key: a gateway's breaker re-probing a shard.</summary>
    public sealed record Probe(CacheKey Key) : ICacheMessage;

    /// <summary>The answer to <see cref="Probe"/>.</summary>
    /// <param name="Home">The address of the node whose entity answered.</param>
    public sealed record Probed(CacheKey Key, string Home) : ICacheMessage;
}

/// <summary>Marker of the near-cache protocol: gateway to gateway, not sharded.</summary>
public interface INearCacheMessage
{
}

/// <summary>
/// The messages between gateways' near caches: the gateway that ran an unsafe request tells every other gateway to drop
/// the keys it invalidated, and waits (bounded) for each to confirm before the response is released.
/// </summary>
public static class NearCacheProtocol
{
    /// <summary>Drop every variant of these keys from the near cache; answered with <see cref="Invalidated"/>.</summary>
    public sealed record Invalidate(CacheKey[] Keys) : INearCacheMessage;

    /// <summary>The near cache holds none of the keys any more and will not store a copy looked up or filled before now.</summary>
    public sealed record Invalidated : INearCacheMessage
    {
        public static readonly Invalidated Instance = new();
    }
}
