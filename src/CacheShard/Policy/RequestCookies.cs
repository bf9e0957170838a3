using Microsoft.Extensions.Primitives;

namespace Porter.CacheShard.Policy;

/// <summary>What a request's Cookie headers say about one cookie name.</summary>
public enum CookieLookup
{
    /// <summary>The cookie is not sent: the request shares the anonymous variant.</summary>
    Absent,

    /// <summary>The cookie is sent once, or several times with the same value.</summary>
    Found,

    /// <summary>The cookie is sent more than once with different values: the app may read either, so the cache stays out.</summary>
    Ambiguous,
}

/// <summary>Finds one cookie's value in the request's Cookie field lines (RFC 6265 §4.2.1, §5.4), without allocating.</summary>
/// <remarks>
/// Pairs are separated by ';' with optional whitespace, across any number of Cookie lines (HTTP/2 splits them).
/// Names are case-sensitive. A value in double quotes is unquoted, as common server frameworks do, so "v" and v
/// share an entry. Pairs without '=' name no cookie and are skipped.
/// </remarks>
public static class RequestCookies
{
    public static CookieLookup Find(StringValues cookieHeaders, ReadOnlySpan<char> name, out ReadOnlySpan<char> value)
    {
        value = default;
        if (name.IsEmpty)
            return CookieLookup.Absent;

        bool found = false;
        foreach (string? line in cookieHeaders)
        {
            if (line is null)
                continue;
            ReadOnlySpan<char> rest = line.AsSpan();
            while (!rest.IsEmpty)
            {
                int semicolon = rest.IndexOf(';');
                ReadOnlySpan<char> pair = semicolon < 0 ? rest : rest[..semicolon];
                rest = semicolon < 0 ? default : rest[(semicolon + 1)..];

                int equals = pair.IndexOf('=');
                if (equals < 0 || !pair[..equals].Trim(" \t").SequenceEqual(name))
                    continue;

                ReadOnlySpan<char> candidate = pair[(equals + 1)..].Trim(" \t");
                if (candidate.Length >= 2 && candidate[0] == '"' && candidate[^1] == '"')
                    candidate = candidate[1..^1];

                if (found && !candidate.SequenceEqual(value))
                {
                    value = default;
                    return CookieLookup.Ambiguous;
                }
                found = true;
                value = candidate;
            }
        }
        return found ? CookieLookup.Found : CookieLookup.Absent;
    }
}
