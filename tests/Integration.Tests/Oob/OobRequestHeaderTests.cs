using System.Globalization;
using Porter.Integration.Tests.Infrastructure;

namespace Porter.Integration.Tests.Oob;

/// <summary>Which response header values ask for out-of-band work: "true" in any case, and nothing else.</summary>
public sealed class OobRequestHeaderTests
{
    [Fact]
    public async Task Only_true_asks_for_out_of_band_work()
    {
        var log = Path.Combine(Repo.TempDir("oob-values"), "oob.log");
        // Two processes, reached one each by their sticky cookie: one gets every value that must not ask, then the
        // other one asks with TRUE. Runs go one at a time in the order they were asked for, so once the second
        // process's run is logged, a run of the first one would have been logged before it.
        await using var porter = await PorterProcess.StartAsync([Repo.TestApp, "--min-instances", "2", "--sticky-sessions", "--disable-turbocaching"],
            environment: new Dictionary<string, string> { ["OOB_LOG"] = log, ["OOB_MS"] = "1" });
        await porter.WaitUntilServingAsync("/pid");
        await Poll.UntilAsync(async () => (await porter.Management.GetStringAsync("/pool")).Split("\"pid\"").Length - 1 >= 2 ? "" : null,
            TimeSpan.FromSeconds(60), "two processes");
        // A slow request holds the least busy process, so the next one goes to the other: each answer sets its cookie.
        var slow = porter.Client.GetAsync("/slow?ms=4000");
        await Poll.UntilAsync(async () => System.Text.RegularExpressions.Regex.IsMatch(await porter.Management.GetStringAsync("/pool"), "\"sessions\":\\s*1") ? "" : null,
            TimeSpan.FromSeconds(10), "the slow request to hold a process");
        using var other = await porter.Client.GetAsync("/pid");
        using var held = await slow;
        static string Cookie(HttpResponseMessage r) => r.Headers.GetValues("Set-Cookie").Single().Split(';')[0];
        var quiet = (Key: int.Parse((await held.Content.ReadAsStringAsync()).Split("pid ")[1], CultureInfo.InvariantCulture), Value: Cookie(held));
        var asking = (Key: int.Parse(await other.Content.ReadAsStringAsync(), CultureInfo.InvariantCulture), Value: Cookie(other));
        Assert.NotEqual(quiet.Key, asking.Key);

        async Task Send(string cookie, string header)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, "/headers?h=" + Uri.EscapeDataString(header));
            request.Headers.Add("Cookie", cookie);
            using var response = await porter.Client.SendAsync(request);
            Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
            Assert.Contains($"pid {(cookie == quiet.Value ? quiet.Key : asking.Key)}", await response.Content.ReadAsStringAsync());
            Assert.False(response.Headers.Contains("X-Porter-Request-OOB-Work"));
        }

        foreach (var value in new[] { "X-Porter-Request-OOB-Work:false", "X-Porter-Request-OOB-Work:", "X-Porter-Request-OOB-Work:0",
                     "X-Porter-Request-OOB-Work:yes", "!~Request-OOB-Work:false", "!~Request-OOB-Work:" })
            await Send(quiet.Value, value);
        await Send(asking.Value, "X-Porter-Request-OOB-Work:TRUE");

        var pids = await Poll.UntilAsync(() =>
        {
            var lines = File.Exists(log) ? File.ReadAllLines(log) : [];
            var runs = lines.Select(l => int.Parse(l.Split(' ')[0], CultureInfo.InvariantCulture)).ToList();
            return Task.FromResult(runs.Contains(asking.Key) ? runs : null);
        }, TimeSpan.FromSeconds(30), "the run asked for with TRUE");
        Assert.DoesNotContain(quiet.Key, pids);
    }
}
