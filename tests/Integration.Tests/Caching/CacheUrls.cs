namespace Porter.Integration.Tests.Caching;

/// <summary>Builds testapp URLs whose response headers are chosen by the query string, unique per test.</summary>
public static class CacheUrls
{
    /// <param name="headers">Response headers as "Name:Value".</param>
    public static string Headers(string test, string? body = null, int? delayMs = null, params string[] headers) =>
        Headers("/headers", test, body, delayMs, headers);

    /// <param name="path">"/headers" or a path below it ("/headers/page.txt"): the app answers them alike.</param>
    /// <param name="headers">Response headers as "Name:Value".</param>
    public static string Headers(string path, string test, string? body, int? delayMs, params string[] headers)
    {
        var query = new List<string> { "t=" + Uri.EscapeDataString(test + "-" + Guid.NewGuid().ToString("N")[..8]) };
        query.AddRange(headers.Select(h => "h=" + Uri.EscapeDataString(h)));
        if (body is not null) query.Add("body=" + Uri.EscapeDataString(body));
        if (delayMs is { } delay) query.Add("delay=" + delay);
        return path + "?" + string.Join('&', query);
    }

    /// <summary>How many times <paramref name="url"/> reached the app process behind <paramref name="client"/>.</summary>
    public static async Task<int> HitsAsync(HttpClient client, string url)
    {
        var text = await client.GetStringAsync("/hits?path=" + Uri.EscapeDataString(url));
        return int.Parse(text, System.Globalization.CultureInfo.InvariantCulture);
    }
}
