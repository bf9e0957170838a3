namespace Porter.CacheShard.Policy;

/// <summary>Method classes from RFC 9110 §9.2; method names are case-sensitive, so "get" is an unknown, unsafe method.</summary>
internal static class HttpMethodRules
{
    public static bool IsGet(string method) => string.Equals(method, "GET", StringComparison.Ordinal);

    public static bool IsHead(string method) => string.Equals(method, "HEAD", StringComparison.Ordinal);

    /// <summary>Safe methods; anything else (including unknown methods) may change state and invalidates.</summary>
    public static bool IsSafe(string method) =>
        IsGet(method) || IsHead(method)
        || string.Equals(method, "OPTIONS", StringComparison.Ordinal)
        || string.Equals(method, "TRACE", StringComparison.Ordinal);
}
