using System.Text;
using Microsoft.AspNetCore.Http;

namespace Porter.CacheShard.Policy;

/// <summary>Which variant of a primary key a stored response is: the normalised values of the request headers named by Vary, plus the app's vary cookie.</summary>
/// <remarks>
/// Header names are lower-case, distinct and sorted, so "Vary: A, B" and "Vary: b, a" give equal keys. A null header
/// value means the header was absent, which only matches another request without it (RFC 9111 §4.1). When the app has
/// a vary cookie, every variant carries it: <see cref="CookieValue"/> null is the anonymous variant.
/// Matching a request compares field values in place; it allocates nothing.
/// </remarks>
public sealed class VariantKey : IEquatable<VariantKey>
{
    private readonly string[] _headerNames;
    private readonly string?[] _headerValues;

    /// <summary>The variant of a response without Vary for an app without a vary cookie.</summary>
    public static VariantKey None { get; } = new([], [], null, null);

    /// <param name="headerNames">Lower-case, distinct, sorted ordinally (as produced by <see cref="ResponsePolicy"/>).</param>
    /// <param name="headerValues">Normalised values, null for an absent header; same length as the names.</param>
    public VariantKey(string[] headerNames, string?[] headerValues, string? cookieName, string? cookieValue)
    {
        ArgumentNullException.ThrowIfNull(headerNames);
        ArgumentNullException.ThrowIfNull(headerValues);
        if (headerNames.Length != headerValues.Length)
            throw new ArgumentException("Every Vary header name needs exactly one value.", nameof(headerValues));
        if (cookieName is null && cookieValue is not null)
            throw new ArgumentException("A cookie value needs the cookie's name.", nameof(cookieValue));
        _headerNames = headerNames;
        _headerValues = headerValues;
        CookieName = string.IsNullOrEmpty(cookieName) ? null : cookieName;
        CookieValue = cookieValue;
    }

    public IReadOnlyList<string> HeaderNames => _headerNames;

    public IReadOnlyList<string?> HeaderValues => _headerValues;

    /// <summary>The app's vary cookie when the variant is keyed by it; null otherwise.</summary>
    public string? CookieName { get; }

    /// <summary>The vary cookie's value; null means the request did not send it (the shared anonymous variant).</summary>
    public string? CookieValue { get; }

    /// <summary>True when <paramref name="requestHeaders"/> select this variant (RFC 9111 §4.1); allocation-free.</summary>
    public bool Matches(IHeaderDictionary requestHeaders)
    {
        for (int i = 0; i < _headerNames.Length; i++)
        {
            bool present = requestHeaders.TryGetValue(_headerNames[i], out var values) && values.Count > 0;
            string? stored = _headerValues[i];
            if (stored is null ? present : !present || !HeaderRules.NormalizedEquals(values, stored))
                return false;
        }

        if (CookieName is null)
            return true;
        return RequestCookies.Find(requestHeaders.Cookie, CookieName, out var cookie) switch
        {
            CookieLookup.Absent => CookieValue is null,
            CookieLookup.Found => CookieValue is not null && cookie.SequenceEqual(CookieValue),
            _ => false,
        };
    }

    public bool Equals(VariantKey? other) =>
        other is not null
        && (ReferenceEquals(this, other)
            || (_headerNames.AsSpan().SequenceEqual(other._headerNames)
                && _headerValues.AsSpan().SequenceEqual(other._headerValues)
                && CookieName == other.CookieName
                && CookieValue == other.CookieValue));

    public override bool Equals(object? obj) => Equals(obj as VariantKey);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        for (int i = 0; i < _headerNames.Length; i++)
        {
            hash.Add(_headerNames[i]);
            hash.Add(_headerValues[i]);
        }
        hash.Add(CookieName);
        hash.Add(CookieValue);
        return hash.ToHashCode();
    }

    public override string ToString()
    {
        if (_headerNames.Length == 0 && CookieName is null)
            return "(none)";
        var text = new StringBuilder();
        for (int i = 0; i < _headerNames.Length; i++)
            text.Append(_headerNames[i]).Append('=').Append(_headerValues[i] ?? "(absent)").Append("; ");
        if (CookieName is not null)
            text.Append("cookie ").Append(CookieName).Append('=').Append(CookieValue ?? "(absent)");
        return text.ToString().TrimEnd(' ', ';');
    }
}
