namespace Porter.Contracts.Ids;

/// <summary>The turbocache's primary key (one cache entity, all variants): app, scheme, host without default port, path and exact query.</summary>
/// <remarks>
/// Canonical text: <c>"{app} {scheme}://{host}{path}{query}"</c> with scheme and host lower-cased.
/// The space cannot occur in a scheme, host or request target, so the text is unambiguous; it is also the
/// sharding entity id. To look a key up without allocating, build a <see cref="CacheKeyParts"/> and format it
/// into a stack buffer (see <see cref="CacheKeyParts.Format"/>): the near cache looks the span up through a
/// span-keyed alternate lookup instead of hashing a new string per request.
/// </remarks>
public readonly record struct CacheKey(string Value)
{
    /// <summary>Builds the key from request parts; <paramref name="query"/> may carry its leading '?' or not.</summary>
    public static CacheKey Create(string app, string scheme, string host, string path, string? query) =>
        new CacheKeyParts(app, scheme, host, path, query).ToKey();

    /// <summary>Builds the key of an absolute http(s) URI (used for Location / Content-Location invalidation).</summary>
    public static CacheKey FromUri(string app, Uri uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        if (!uri.IsAbsoluteUri)
            throw new ArgumentException("A cache key needs an absolute URI.", nameof(uri));
        // Authority already omits the scheme's default port and keeps IPv6 brackets.
        return Create(app, uri.Scheme, uri.Authority, uri.AbsolutePath, uri.Query);
    }

    public override string ToString() => Value;
}
