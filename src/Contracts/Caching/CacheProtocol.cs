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
}

/// <summary>The messages of the turbocache's sharded entities.</summary>
public static class CacheProtocol
{
    /// <summary>Asks for the variant matching the request's headers. <paramref name="Refresh"/>: the request bypasses the cache but may refresh it.</summary>
    public sealed record Lookup(CacheKey Key, HeaderField[] RequestHeaders, bool Refresh) : ICacheMessage;

    /// <summary>The answer to <see cref="Lookup"/>; <paramref name="Entry"/> is set for Hit, StaleRefresh and Revalidate (and for a stale-if-error fallback on Fill).</summary>
    public sealed record LookupResult(CacheKey Key, LookupOutcome Outcome, CacheEntryData? Entry) : ICacheMessage;

    /// <summary>A filler's storable response (or a refreshed entry after a 304).</summary>
    public sealed record Store(CacheKey Key, CacheEntryData Entry) : ICacheMessage;

    /// <summary>The filler got nothing storable; waiters go to the app, and the key skips coalescing for a while if <paramref name="PassThrough"/>.</summary>
    public sealed record FillAbandoned(CacheKey Key, bool PassThrough) : ICacheMessage;

    /// <summary>Drops every variant of the key (an unsafe request changed the resource). Answered with <see cref="Invalidated"/>.</summary>
    public sealed record Invalidate(CacheKey Key) : ICacheMessage;

    /// <summary>Acknowledges an invalidation; also broadcast to every gateway's near cache.</summary>
    public sealed record Invalidated(CacheKey Key) : ICacheMessage;
}
