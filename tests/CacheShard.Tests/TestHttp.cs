using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Porter.CacheShard.Policy;
using Porter.Contracts.Caching;

namespace Porter.CacheShard.Tests;

/// <summary>Fixed clock, header builders and a one-call store path shared by the policy and near-cache tests.</summary>
internal static class TestHttp
{
    /// <summary>The fixed "now" every test measures from.</summary>
    public static readonly DateTimeOffset T0 = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);

    /// <summary>Headers from "Name: value" lines; a repeated name becomes a second field line.</summary>
    public static HeaderDictionary Headers(params string[] lines)
    {
        var headers = new HeaderDictionary();
        foreach (string line in lines)
        {
            int colon = line.IndexOf(':');
            string name = line[..colon].Trim();
            string value = line[(colon + 1)..].Trim();
            headers[name] = headers.TryGetValue(name, out var existing) ? StringValues.Concat(existing, value) : new StringValues(value);
        }
        return headers;
    }

    public static string Date(DateTimeOffset value) => value.UtcDateTime.ToString("r", CultureInfo.InvariantCulture);

    public static TurbocacheOptions Options() => new();

    public static ResponsePolicy ResponsePolicyFor(string? varyCookie = null) => new(Options(), varyCookie);

    /// <summary>Evaluates a 200 GET response received at <see cref="T0"/> (sent at T0) with a Date of T0 unless given.</summary>
    public static ResponseEvaluation Evaluate(string[] responseHeaders, string[]? requestHeaders = null,
        int status = 200, string method = "GET", string? varyCookie = null, long? contentLength = 100)
    {
        var response = Headers(responseHeaders);
        if (!response.ContainsKey("Date"))
            response["Date"] = Date(T0);
        return ResponsePolicyFor(varyCookie).Evaluate(method, Headers(requestHeaders ?? []), status, response, contentLength, T0, T0);
    }

    /// <summary>Stores a response the way the gateway will: evaluate, then build the entry with its body.</summary>
    public static CachedResponse Store(string[] responseHeaders, string[]? requestHeaders = null, string? varyCookie = null,
        string body = "hello", DateTimeOffset? requestTime = null, DateTimeOffset? responseTime = null)
    {
        var response = Headers(responseHeaders);
        var received = responseTime ?? T0;
        if (!response.ContainsKey("Date"))
            response["Date"] = Date(received);
        var evaluation = ResponsePolicyFor(varyCookie).Evaluate("GET", Headers(requestHeaders ?? []), 200, response, body.Length,
            requestTime ?? received, received);
        Assert.True(evaluation.IsStorable, $"expected storable, refused: {evaluation.Refusal}");
        return CachedResponse.Create(evaluation, 200, response, System.Text.Encoding.UTF8.GetBytes(body));
    }
}
