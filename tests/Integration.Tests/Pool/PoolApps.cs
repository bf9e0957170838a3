using System.Globalization;
using System.Net;
using Porter.Integration.Tests.Infrastructure;

namespace Porter.Integration.Tests.Pool;

/// <summary>Helpers the pool tests share: config files of several testapp instances and small request helpers.</summary>
public static class PoolApps
{
    /// <summary>Writes a porter.json whose apps are given as JSON objects (without Root: each gets <paramref name="root"/> unless it sets one).</summary>
    public static string Config(string nodeSettings, string root, params string[] apps)
    {
        var dir = Repo.TempDir("pool-config");
        var path = Path.Combine(dir, "porter.json");
        var appJson = apps.Select(a => a.Contains("\"Root\"", StringComparison.Ordinal)
            ? a
            : a.TrimEnd().TrimEnd('}') + $", \"Root\": \"{root}\" }}");
        File.WriteAllText(path, $$"""{ {{nodeSettings}}{{(nodeSettings.Length > 0 ? "," : "")}} "Apps": [ {{string.Join(",\n", appJson)}} ] }""");
        return path;
    }

    /// <summary>A private copy of tests/apps/testapp, for tests that touch files in the app's tmp/ folder.</summary>
    public static string CopyOfTestApp()
    {
        var dir = Repo.TempDir("testapp");
        File.Copy(Path.Combine(Repo.TestApp, "app.js"), Path.Combine(dir, "app.js"));
        Directory.CreateDirectory(Path.Combine(dir, "tmp"));
        return dir;
    }

    /// <summary>The PID of the process that answered /pid (or /slow), for an app chosen by host.</summary>
    public static async Task<int> PidAsync(PorterProcess porter, string host, string path = "/pid")
    {
        using var response = await porter.GetAsync(host, path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return ParsePid(await response.Content.ReadAsStringAsync());
    }

    /// <summary>The PID that answered, or null for any other answer (while processes come and go).</summary>
    public static async Task<int?> TryPidAsync(PorterProcess porter, string host)
    {
        using var response = await porter.GetAsync(host, "/pid");
        return response.StatusCode == HttpStatusCode.OK ? ParsePid(await response.Content.ReadAsStringAsync()) : null;
    }

    /// <summary>Reads the PID from "/pid" ("123") or "/slow" ("slept N ms, pid 123") answers.</summary>
    public static int ParsePid(string body) =>
        int.Parse(body.Trim().Split(' ')[^1], CultureInfo.InvariantCulture);

    /// <summary>Polls until an app's processes have all started (their PID records exist) and serve.</summary>
    public static async Task WaitForProcessesAsync(PorterProcess porter, string app, int count)
    {
        await Poll.UntilAsync(() => porter.RecordedAppPids(app).Count(PorterProcess.IsAlive) == count, TimeSpan.FromSeconds(30),
            $"{count} processes of {app}");
    }

    /// <summary>Sends requests at once and returns status, body and PID (0 when not a PID answer).</summary>
    public static async Task<(HttpStatusCode Status, string Body, HttpResponseMessage Response)[]> BurstAsync(
        PorterProcess porter, string host, string path, int count)
    {
        // Each request gets its own URL: identical concurrent GETs would be coalesced by the turbocache into one.
        var separator = path.Contains('?') ? '&' : '?';
        var tasks = Enumerable.Range(0, count).Select(async i =>
        {
            var response = await porter.GetAsync(host, $"{path}{separator}burst={i}");
            return (response.StatusCode, await response.Content.ReadAsStringAsync(), response);
        });
        return await Task.WhenAll(tasks);
    }
}
