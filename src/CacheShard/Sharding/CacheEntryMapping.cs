using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Porter.CacheShard.Policy;
using Porter.Contracts.Caching;

namespace Porter.CacheShard.Sharding;

/// <summary>Converts between the policy layer's entries and headers and the turbocache protocol's wire records, losslessly.</summary>
/// <remarks>
/// The body array is shared, not copied: entries are immutable once built, so a stored entry and the message that
/// carried it point at the same bytes. Stored headers travel (and stay on the cache node) as one
/// <see cref="HeaderBlock"/>; rebuilding a <see cref="CachedResponse"/> decodes it once per entity answer.
/// </remarks>
public static class CacheEntryMapping
{
    /// <summary>The wire form of a stored response (for <see cref="CacheProtocol.Store"/> and lookup answers).</summary>
    public static CacheEntryData ToData(CachedResponse entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var variant = entry.Variant;
        return new CacheEntryData(
            entry.StatusCode,
            EncodeHeaders(entry.Headers),
            entry.BodyArray,
            ReferenceEquals(variant, VariantKey.None)
                ? VariantData.None
                : new VariantData(AsArray(variant.HeaderNames), AsArray(variant.HeaderValues), variant.CookieName, variant.CookieValue),
            entry.RequestTime,
            entry.ResponseTime,
            entry.Date,
            entry.AgeValue,
            entry.FreshnessLifetime,
            entry.StaleWhileRevalidate,
            entry.StaleIfError,
            (byte)entry.Flags);
    }

    /// <summary>Rebuilds the stored response a <see cref="CacheEntryData"/> describes.</summary>
    public static CachedResponse ToEntry(CacheEntryData data)
    {
        ArgumentNullException.ThrowIfNull(data);
        var fields = HeaderBlock.Decode(data.Headers);
        var headers = new KeyValuePair<string, StringValues>[fields.Length];
        for (int i = 0; i < headers.Length; i++)
            headers[i] = new(fields[i].Name, ToStringValues(fields[i].Values));

        return new CachedResponse(data.StatusCode, headers, data.Body, ToVariant(data.Variant), data.RequestTime, data.ResponseTime,
            data.Date, data.AgeValue, data.FreshnessLifetime, data.StaleWhileRevalidate, data.StaleIfError,
            (CacheEntryFlags)data.Flags);
    }

    /// <summary>The policy layer's variant key of a wire variant; an entry without Vary gets the shared <see cref="VariantKey.None"/>.</summary>
    public static VariantKey ToVariant(VariantData v)
    {
        ArgumentNullException.ThrowIfNull(v);
        return v.HeaderNames.Length == 0 && v.CookieName is null
            ? VariantKey.None
            : new VariantKey(v.HeaderNames, v.HeaderValues, v.CookieName, v.CookieValue);
    }

    /// <summary>The header block of a stored response's fields (null values, which Kestrel never stores, are left out).</summary>
    public static byte[] EncodeHeaders(ReadOnlySpan<KeyValuePair<string, StringValues>> headers)
    {
        if (headers.IsEmpty)
            return HeaderBlock.Empty;
        var block = new HeaderBlock.Builder(headers.Length);
        foreach (var (name, values) in headers)
        {
            int count = 0;
            foreach (string? line in values)
            {
                if (line is not null)
                    count++;
            }
            block.AddName(name, count);
            foreach (string? line in values)
            {
                if (line is not null)
                    block.AddValue(line);
            }
        }
        return block.ToArray();
    }

    /// <summary>The request headers a <see cref="CacheProtocol.Lookup"/> carries so the entity can pick the request's Vary variant.</summary>
    /// <remarks>
    /// Every end-to-end field is sent, because a response may Vary on any of them and the entity only learns which
    /// when it matches. Cookie and Authorization go along too: the vary cookie is read from Cookie, and Authorization
    /// decides whether an entry may answer the request at all (RFC 9111 §3.5). They stay inside the cluster, which
    /// already sees the same request on its way to the app. Hop-by-hop fields describe the client's connection and
    /// are never a cache key (RFC 9110 §7.6.1), so they are left out.
    /// </remarks>
    public static HeaderField[] RequestHeaders(IHeaderDictionary headers)
    {
        ArgumentNullException.ThrowIfNull(headers);
        var connectionListed = HeaderRules.ConnectionListed(headers);
        var fields = new HeaderField[headers.Count];
        int count = 0;
        foreach (var header in headers)
        {
            if (!HeaderRules.IsHopByHop(header.Key, connectionListed))
                fields[count++] = new HeaderField(header.Key, ToArray(header.Value));
        }
        if (count < fields.Length)
            Array.Resize(ref fields, count);
        return fields;
    }

    /// <summary>The header dictionary a lookup's fields describe, for <see cref="VariantKey.Matches"/>.</summary>
    public static IHeaderDictionary ToHeaders(HeaderField[] fields)
    {
        ArgumentNullException.ThrowIfNull(fields);
        var headers = new HeaderDictionary(fields.Length);
        foreach (var field in fields)
        {
            var values = ToStringValues(field.Values);
            // A name repeated in the array (not produced by RequestHeaders) keeps all its lines, as HTTP would.
            headers[field.Name] = headers.TryGetValue(field.Name, out var existing) ? StringValues.Concat(existing, values) : values;
        }
        return headers;
    }

    // A one-line field is by far the common case: keep it as a bare string, as Kestrel does.
    private static StringValues ToStringValues(string[] values) =>
        values.Length == 1 ? new StringValues(values[0]) : new StringValues(values);

    private static string[] ToArray(StringValues values)
    {
        if (values.Count == 1 && values[0] is { } single)
            return [single];
        var lines = new List<string>(values.Count);
        foreach (string? line in values)
        {
            if (line is not null)
                lines.Add(line);
        }
        return lines.ToArray();
    }

    // VariantKey keeps arrays behind its read-only views; sharing them avoids a copy per store and per answer.
    private static T[] AsArray<T>(IReadOnlyList<T> list) => list as T[] ?? [.. list];
}
