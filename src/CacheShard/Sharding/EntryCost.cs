using Microsoft.Extensions.Primitives;
using Porter.CacheShard.Policy;
using Porter.Contracts.Caching;

namespace Porter.CacheShard.Sharding;

/// <summary>
/// What a cached entry costs in memory: the unit of <see cref="TurbocacheOptions.MaxTotalBytes"/> (a cache node's
/// stores), <see cref="TurbocacheOptions.NearCacheMaxBytes"/> (a gateway's near cache) and of the bytes /cache reports.
/// </summary>
/// <remarks>
/// An entry costs its key (UTF-16, two bytes a char), its header fields, its body and a fixed overhead for the
/// objects that hold them. The overheads come from a real standalone node (tests/apps-like Node origin, 30,000
/// entries of one shape filled over keep-alive, RSS and the managed heap read after a full GC that dotnet-gcdump
/// induces), for two shapes: a 2 KiB body with three small fields, and an empty body with one 4,000-byte field (the
/// shape that once grew a node by 1.2 GB while /cache said 0). Store, near cache off: 347 and 321 bytes of managed
/// heap per entry beyond key, header block and body (object layout: key state 80, dictionary slot about 46, string
/// header 24, stored variant 128, two array headers 48), 391 and 609 bytes of RSS; the store's constants take the
/// larger RSS figure, rounded up, split between key and variant in proportion to their objects. Near cache on (no
/// entry bound): RSS grew by another 1,157 bytes per entry with the body shared with the store and 9,239 with the
/// 4,000-byte field (held as a string), which the near-cache constants reproduce within 5%. So a bound in these units
/// bounds the process's memory, not only its heap.
/// </remarks>
public static class EntryCost
{
    /// <summary>A stored key: its state object, its dictionary slot and the key string's header.</summary>
    public const int StoreKeyOverhead = 288;

    /// <summary>A stored variant: its object and the header block's and body's array headers.</summary>
    public const int StoreVariantOverhead = 352;

    /// <summary>A near-cache key: its slot, its dictionary node and the key string's header.</summary>
    public const int NearKeyOverhead = 160;

    /// <summary>
    /// A near-cache variant: the decoded response (its object, header arrays, the body array's header) and its record.
    /// Its header fields are strings (two bytes a char), each line with <see cref="NearFieldLineOverhead"/>.
    /// </summary>
    public const int NearVariantOverhead = 480;

    /// <summary>What one field line costs in a decoded response beyond its characters: the string's header and its slot.</summary>
    public const int NearFieldLineOverhead = 32;

    /// <summary>A key's own cost in a cache store, paid while it holds at least one variant.</summary>
    public static long OfStoreKey(string key) => StoreKeyOverhead + 2L * key.Length;

    /// <summary>One stored variant: overhead, the header block, the body, and its Vary values unless it has none.</summary>
    public static long OfStoredVariant(byte[] headerBlock, byte[] body, VariantData variant) =>
        StoreVariantOverhead + headerBlock.LongLength + body.LongLength + OfVariant(variant);

    /// <summary>A key's own cost in a near cache, paid while it holds at least one variant.</summary>
    public static long OfNearKey(string key) => NearKeyOverhead + 2L * key.Length;

    /// <summary>One decoded response held by a near cache.</summary>
    public static long OfNearVariant(CachedResponse entry)
    {
        long cost = NearVariantOverhead + entry.Body.Length;
        foreach (var (name, values) in entry.Headers)
            cost += OfFieldLines(name, values);
        var variant = entry.Variant;
        if (!ReferenceEquals(variant, VariantKey.None))
        {
            for (int i = 0; i < variant.HeaderNames.Count; i++)
                cost += OfString(variant.HeaderNames[i]) + OfString(variant.HeaderValues[i]);
            cost += OfString(variant.CookieName) + OfString(variant.CookieValue);
        }
        return cost;
    }

    private static long OfVariant(VariantData variant)
    {
        if (ReferenceEquals(variant, VariantData.None))
            return 0;
        // The record, its key twin and their two arrays, plus every string.
        long cost = 4 * 48 + 16L * variant.HeaderNames.Length;
        foreach (var name in variant.HeaderNames)
            cost += OfString(name);
        foreach (var value in variant.HeaderValues)
            cost += OfString(value);
        return cost + OfString(variant.CookieName) + OfString(variant.CookieValue);
    }

    private static long OfFieldLines(string name, StringValues values)
    {
        long cost = 2L * name.Length;
        foreach (string? line in values)
            cost += NearFieldLineOverhead + 2L * (line?.Length ?? 0);
        return cost;
    }

    private static long OfString(string? value) => value is null ? 0 : 24 + 2L * value.Length;
}
