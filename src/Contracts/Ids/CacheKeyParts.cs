using System.Buffers;
using System.Globalization;

namespace Porter.Contracts.Ids;

/// <summary>The parts of a <see cref="CacheKey"/> as spans, normalised lazily so a lookup can format the key without allocating.</summary>
public readonly ref struct CacheKeyParts
{
    private const int StackLimit = 512;

    private readonly ReadOnlySpan<char> _app;
    private readonly ReadOnlySpan<char> _scheme;
    private readonly ReadOnlySpan<char> _host;
    private readonly ReadOnlySpan<char> _path;
    private readonly ReadOnlySpan<char> _query;

    /// <param name="host">The Host header value (or authority), port included; a scheme's default port is dropped.</param>
    /// <param name="path">The path as received; empty means "/".</param>
    /// <param name="query">The query exactly as received, with or without its leading '?'; empty means none.</param>
    public CacheKeyParts(ReadOnlySpan<char> app, ReadOnlySpan<char> scheme, ReadOnlySpan<char> host,
        ReadOnlySpan<char> path, ReadOnlySpan<char> query)
    {
        _app = app;
        _scheme = scheme;
        _host = WithoutDefaultPort(host, scheme);
        _path = path;
        _query = query;
        Length = app.Length + 1 + scheme.Length + 3 + _host.Length
            + (path.IsEmpty ? 1 : path.Length)
            + (query.IsEmpty ? 0 : query[0] == '?' ? query.Length : query.Length + 1);
    }

    /// <summary>Exact length of the formatted key.</summary>
    public int Length { get; }

    /// <summary>Writes the canonical key text into <paramref name="destination"/> and returns the number of chars written.</summary>
    public int Format(Span<char> destination)
    {
        if (destination.Length < Length)
            throw new ArgumentException("Destination is shorter than CacheKeyParts.Length.", nameof(destination));

        int w = 0;
        _app.CopyTo(destination);
        w += _app.Length;
        destination[w++] = ' ';
        w += _scheme.ToLowerInvariant(destination[w..]);
        "://".CopyTo(destination[w..]);
        w += 3;
        w += _host.ToLowerInvariant(destination[w..]);
        if (_path.IsEmpty)
        {
            destination[w++] = '/';
        }
        else
        {
            _path.CopyTo(destination[w..]);
            w += _path.Length;
        }
        if (!_query.IsEmpty)
        {
            if (_query[0] != '?')
                destination[w++] = '?';
            _query.CopyTo(destination[w..]);
            w += _query.Length;
        }
        return w;
    }

    /// <summary>Allocates the key (store and invalidation paths; lookups format into a buffer instead).</summary>
    public CacheKey ToKey()
    {
        char[]? rented = null;
        Span<char> buffer = Length <= StackLimit ? stackalloc char[Length] : (rented = ArrayPool<char>.Shared.Rent(Length));
        try
        {
            int written = Format(buffer);
            return new CacheKey(new string(buffer[..written]));
        }
        finally
        {
            if (rented is not null)
                ArrayPool<char>.Shared.Return(rented);
        }
    }

    public override string ToString() => ToKey().Value;

    /// <summary>"host:80" for http and "host:443" for https name the same origin as "host" (RFC 9110 §4.2.3); an empty port too.</summary>
    internal static ReadOnlySpan<char> WithoutDefaultPort(ReadOnlySpan<char> host, ReadOnlySpan<char> scheme)
    {
        int colon = host.LastIndexOf(':');
        if (colon < 0)
            return host;
        if (host[0] == '[')
        {
            // IPv6 literal: the port, if any, follows the closing bracket.
            if (colon < host.LastIndexOf(']'))
                return host;
        }
        else if (host[..colon].Contains(':'))
        {
            return host; // bare IPv6 without brackets: no port to speak of
        }

        ReadOnlySpan<char> port = host[(colon + 1)..];
        if (port.IsEmpty)
            return host[..colon];
        if (!int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out int number))
            return host;
        int defaultPort = scheme.Equals("http", StringComparison.OrdinalIgnoreCase) ? 80
            : scheme.Equals("https", StringComparison.OrdinalIgnoreCase) ? 443
            : -1;
        return number == defaultPort ? host[..colon] : host;
    }
}
