using System.Buffers;
using System.Collections.Frozen;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Porter.CacheShard.Policy;

/// <summary>Header facts shared by storing, refreshing and matching: hop-by-hop fields, list splitting, value normalisation.</summary>
internal static class HeaderRules
{
    /// <summary>Connection-specific fields never stored or replayed (RFC 9110 §7.6.1), plus the proxy ones.</summary>
    private static readonly FrozenSet<string> HopByHop = new[]
    {
        HeaderNames.Connection, HeaderNames.KeepAlive, HeaderNames.ProxyConnection, HeaderNames.TE, HeaderNames.Trailer,
        HeaderNames.TransferEncoding, HeaderNames.Upgrade, HeaderNames.ProxyAuthenticate, HeaderNames.ProxyAuthorization,
    }.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    public static bool IsSpace(char c) => c is ' ' or '\t';

    /// <summary>Field names the cache must not store or use to update a stored response.</summary>
    public static bool IsExcludedFromStorage(string name, HashSet<string>? connectionListed) =>
        IsHopByHop(name, connectionListed)
        || string.Equals(name, HeaderNames.ContentLength, StringComparison.OrdinalIgnoreCase) // served from the body length
        || string.Equals(name, HeaderNames.Age, StringComparison.OrdinalIgnoreCase); // computed at serve time

    /// <summary>Fields that belong to one connection (fixed hop-by-hop names and those listed in Connection).</summary>
    public static bool IsHopByHop(string name, HashSet<string>? connectionListed) =>
        HopByHop.Contains(name) || (connectionListed is not null && connectionListed.Contains(name));

    /// <summary>Names listed in Connection, which are hop-by-hop for this message; null when there are none.</summary>
    public static HashSet<string>? ConnectionListed(IHeaderDictionary headers)
    {
        HashSet<string>? names = null;
        var elements = new ListElements(headers.Connection);
        while (elements.MoveNext())
            (names ??= new HashSet<string>(StringComparer.OrdinalIgnoreCase)).Add(elements.Current.ToString());
        return names;
    }

    /// <summary>True when a comma-separated token list contains <paramref name="token"/> (case-insensitive).</summary>
    public static bool ListContains(StringValues values, string token)
    {
        var elements = new ListElements(values);
        while (elements.MoveNext())
        {
            if (elements.Current.Equals(token, StringComparison.OrdinalIgnoreCase))
                return true;
        }
        return false;
    }

    /// <summary>Upper bound of the normalised length: normalising never grows a line; lines gain one comma.</summary>
    public static int MaxNormalizedLength(StringValues values)
    {
        int length = 0;
        foreach (string? line in values)
            length += (line?.Length ?? 0) + 1;
        return length;
    }

    /// <summary>
    /// Canonical form of a list-valued field used as a Vary secondary key: lines joined, elements trimmed,
    /// empty elements dropped, inner whitespace runs collapsed to one space, elements joined by "," with no spaces.
    /// Case is kept: values compare exactly after this.
    /// </summary>
    public static int NormalizeList(StringValues values, Span<char> destination)
    {
        int w = 0;
        foreach (string? line in values)
        {
            if (line is null)
                continue;
            foreach (Range range in line.AsSpan().Split(','))
            {
                ReadOnlySpan<char> element = line.AsSpan(range).Trim(" \t");
                if (element.IsEmpty)
                    continue;
                if (w > 0)
                    destination[w++] = ',';
                bool pendingSpace = false;
                foreach (char c in element)
                {
                    if (IsSpace(c))
                    {
                        pendingSpace = true;
                        continue;
                    }
                    if (pendingSpace)
                    {
                        destination[w++] = ' ';
                        pendingSpace = false;
                    }
                    destination[w++] = c;
                }
            }
        }
        return w;
    }

    public static string NormalizeList(StringValues values)
    {
        int max = MaxNormalizedLength(values);
        char[] buffer = ArrayPool<char>.Shared.Rent(max);
        try
        {
            return new string(buffer, 0, NormalizeList(values, buffer));
        }
        finally
        {
            ArrayPool<char>.Shared.Return(buffer);
        }
    }

    /// <summary>Compares a request field with a stored normalised value without allocating.</summary>
    public static bool NormalizedEquals(StringValues values, string normalized)
    {
        int max = MaxNormalizedLength(values);
        if (max < normalized.Length)
            return false;
        char[]? rented = null;
        Span<char> buffer = max <= 256 ? stackalloc char[max] : (rented = ArrayPool<char>.Shared.Rent(max));
        try
        {
            return buffer[..NormalizeList(values, buffer)].SequenceEqual(normalized);
        }
        finally
        {
            if (rented is not null)
                ArrayPool<char>.Shared.Return(rented);
        }
    }

    /// <summary>First non-empty line of a field, or null.</summary>
    public static string? First(StringValues values)
    {
        foreach (string? line in values)
        {
            if (!string.IsNullOrEmpty(line))
                return line;
        }
        return null;
    }
}

/// <summary>Enumerates the trimmed, non-empty elements of a comma-separated token list over all field lines, without allocating.</summary>
/// <remarks>Not quote-aware: for token lists (Vary, Connection, Pragma) only.</remarks>
internal ref struct ListElements
{
    private readonly StringValues _values;
    private int _line;
    private ReadOnlySpan<char> _rest;

    public ListElements(StringValues values)
    {
        _values = values;
        _line = -1;
        _rest = default;
        Current = default;
    }

    public ReadOnlySpan<char> Current { get; private set; }

    public bool MoveNext()
    {
        while (true)
        {
            while (_rest.IsEmpty)
            {
                if (++_line >= _values.Count)
                    return false;
                _rest = _values[_line].AsSpan();
            }
            int comma = _rest.IndexOf(',');
            ReadOnlySpan<char> element = comma < 0 ? _rest : _rest[..comma];
            _rest = comma < 0 ? default : _rest[(comma + 1)..];
            element = element.Trim(" \t");
            if (!element.IsEmpty)
            {
                Current = element;
                return true;
            }
        }
    }
}
