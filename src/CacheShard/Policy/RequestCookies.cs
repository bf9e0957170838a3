using Microsoft.Extensions.Primitives;

namespace Porter.CacheShard.Policy;

/// <summary>What a request's Cookie headers say about one cookie name.</summary>
public enum CookieLookup
{
    /// <summary>The cookie is not sent: the request shares the anonymous variant.</summary>
    Absent,

    /// <summary>The cookie is sent once, or several times with the same value.</summary>
    Found,

    /// <summary>The app could read the cookie otherwise than Porter does, so the cache stays out (see <see cref="RequestCookies"/>).</summary>
    Ambiguous,
}

/// <summary>Finds one cookie's value in the request's Cookie field lines (RFC 6265 §4.2.1), without allocating.</summary>
/// <remarks>
/// The cache keys an app's variants by the vary cookie, so Porter must read it exactly as the app's framework will, or
/// a page rendered for one user is stored as another's. Cookie parsers disagree on anything but the plain form, so only
/// that form is read: pairs <c>name=value</c> separated by ';' (spaces and tabs around a pair are allowed, across any
/// number of Cookie lines), the name a token, the value only cookie-octets. Anything else makes the whole header
/// <see cref="CookieLookup.Ambiguous"/>: a space, comma, double quote, backslash, control or non-ASCII byte in a value
/// (Python's http.cookies reads <c>a=1 user_id=admin</c> and <c>a=1, user_id=admin</c> as two cookies; quoted values
/// are unquoted and unescaped differently per framework), a pair without '=' (Python stops parsing there), the vary
/// cookie sent twice with different values, or a name equal to it but for case (ASP.NET Core reads names ignoring case).
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
            var text = line.AsSpan();
            foreach (Range range in text.Split(';'))
            {
                var pair = text[range].Trim(" \t");
                if (pair.IsEmpty)
                    continue;
                int equals = pair.IndexOf('=');
                if (equals <= 0 || !IsToken(pair[..equals]) || !IsCookieValue(pair[(equals + 1)..]))
                    return Ambiguous(out value);

                var pairName = pair[..equals];
                if (!pairName.SequenceEqual(name))
                {
                    if (pairName.Equals(name, StringComparison.OrdinalIgnoreCase))
                        return Ambiguous(out value);
                    continue;
                }
                var candidate = pair[(equals + 1)..];
                if (found && !candidate.SequenceEqual(value))
                    return Ambiguous(out value);
                found = true;
                value = candidate;
            }
        }
        return found ? CookieLookup.Found : CookieLookup.Absent;
    }

    private static CookieLookup Ambiguous(out ReadOnlySpan<char> value)
    {
        value = default;
        return CookieLookup.Ambiguous;
    }

    // RFC 9110 §5.6.2 tchar.
    private static bool IsToken(ReadOnlySpan<char> s)
    {
        foreach (char c in s)
        {
            if (!char.IsAsciiLetterOrDigit(c) && "!#$%&'*+-.^_`|~".IndexOf(c) < 0)
                return false;
        }
        return true;
    }

    // RFC 6265 §4.1.1 cookie-octet: visible ASCII except DQUOTE, comma, semicolon and backslash.
    private static bool IsCookieValue(ReadOnlySpan<char> s)
    {
        foreach (char c in s)
        {
            if (c <= ' ' || c >= '\x7f' || c is '"' or ',' or ';' or '\\')
                return false;
        }
        return true;
    }
}
