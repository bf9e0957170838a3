using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Porter.Integration.Tests.Infrastructure;
using Porter.Workers.Spawning;

namespace Porter.Integration.Tests.RequestPath;

/// <summary>Each example app served by a real porter node: app responses, and static files that never reach the app.</summary>
public sealed class ExampleAppsTests
{
    public static TheoryData<string> Examples => new() { "hello-node", "hello-python", "hello-dotnet" };

    private static async Task<string[]> StartArgsAsync(string example)
    {
        if (example != "hello-dotnet") return [Repo.Example(example)];
        var dll = await HelloDotnetDllAsync();
        return [Repo.Example(example), "--app-start-command", $"dotnet {dll}"];
    }

    /// <summary>hello-dotnet is in Cluster.sln, so a solution build has built it; a lone test run builds it here.</summary>
    private static async Task<string> HelloDotnetDllAsync()
    {
        foreach (var configuration in new[] { "Debug", "Release" })
        {
            var dll = Path.Combine(Repo.Example("hello-dotnet"), "bin", configuration, "net10.0", "hello-dotnet.dll");
            if (File.Exists(dll)) return dll;
        }
        using var build = Process.Start(new ProcessStartInfo("dotnet", ["build", Repo.Example("hello-dotnet"), "-c", "Debug", "-v", "q"])
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        })!;
        await build.StandardOutput.ReadToEndAsync();
        await build.WaitForExitAsync();
        Assert.Equal(0, build.ExitCode);
        return Path.Combine(Repo.Example("hello-dotnet"), "bin", "Debug", "net10.0", "hello-dotnet.dll");
    }

    [Theory]
    [MemberData(nameof(Examples))]
    public async Task Serves_the_app_with_its_pid_and_a_counter(string example)
    {
        await using var porter = await PorterProcess.StartAsync(await StartArgsAsync(example));
        var first = await porter.Client.GetStringAsync("/");
        var second = await porter.Client.GetStringAsync("/");
        Assert.Contains(example, first);
        var pid = (await porter.Client.GetStringAsync("/pid")).Trim();
        Assert.Contains(pid, first);
        Assert.True(PorterProcess.IsAlive(int.Parse(pid, System.Globalization.CultureInfo.InvariantCulture)));
        Assert.NotEqual(first, second);

        using var cached = await porter.Client.GetAsync("/cached");
        Assert.Equal(HttpStatusCode.OK, cached.StatusCode);
        Assert.NotNull(cached.Headers.CacheControl?.MaxAge);
    }

    [Theory]
    [MemberData(nameof(Examples))]
    public async Task Does_out_of_band_work_when_porter_asks(string example)
    {
        await using var porter = await PorterProcess.StartAsync([.. await StartArgsAsync(example), "--oob-work-every", "1"]);
        Assert.Contains(example, await porter.Client.GetStringAsync("/"));
        // The run is counted by outcome: "completed" means the app answered POST /.porter/oob-work with a 2xx.
        await Poll.UntilAsync(async () =>
        {
            var samples = PrometheusText.Parse(await porter.Management.GetStringAsync("/metrics"));
            return samples.Any(s => s.Name.StartsWith("porter_oob_runs", StringComparison.Ordinal)
                && s.Labels.GetValueOrDefault("outcome") == "completed" && s.Value >= 1) ? "" : null;
        }, TimeSpan.FromSeconds(30), $"a completed OOB run of {example}");
        // The process is back in rotation afterwards.
        Assert.Contains(example, await porter.Client.GetStringAsync("/"));
    }

    [Theory]
    [MemberData(nameof(Examples))]
    public async Task Refuses_out_of_band_calls_porter_did_not_sign(string example)
    {
        // The app alone, as anyone on the machine could reach it on its port: only Porter's signed token makes it collect.
        var secret = OobWorkSignature.NewSecret();
        await using var app = await DirectApp.StartAsync(await DirectCommandAsync(example), Repo.Example(example), secret);
        await AssertOnlyPorterMayCallAsync(app, secret, expectedBody: "\"ok\":true");
    }

    [Fact]
    public async Task The_wsgi_loader_checks_the_token_before_an_app_that_does_its_own_oob_work()
    {
        var root = Repo.TempDir("wsgi-own-oob");
        await File.WriteAllTextAsync(Path.Combine(root, "passenger_wsgi.py"), """
            porter_handles_oob_work = True

            def application(environ, start_response):
                body = b"app-oob " + environ["PATH_INFO"].encode("latin-1")
                start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
                return [body]
            """);
        var secret = OobWorkSignature.NewSecret();
        await using var app = await DirectApp.StartAsync(["python3", WsgiLoader, root], root, secret);
        await AssertOnlyPorterMayCallAsync(app, secret, expectedBody: "app-oob /.porter/oob-work");
    }

    private static async Task AssertOnlyPorterMayCallAsync(DirectApp app, string secret, string expectedBody)
    {
        async Task<HttpResponseMessage> Post(string path, string? token)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent([]) };
            if (token is not null) request.Headers.TryAddWithoutValidation("X-Porter-OOB-Token", token);
            return await app.Client.SendAsync(request);
        }

        var otherSecret = OobWorkSignature.NewSecret();
        var signed = OobWorkSignature.TokenHeaderValue(secret, 12);
        foreach (var (path, token) in new[]
                 {
                     ("/.porter/oob-work", null), ("/.porter/oob-work", "12"), ("/.porter/oob-work", "12.zz"),
                     ("/.porter/oob-work", OobWorkSignature.TokenHeaderValue(otherSecret, 12)),
                     ("/.porter/oob-work", "13" + signed[2..]), ("/.PORTER/oob-work", null),
                 })
        {
            using var refused = await Post(path, token);
            Assert.True(refused.StatusCode == HttpStatusCode.Forbidden, $"{path} with token '{token}' got {(int)refused.StatusCode}");
        }
        using var accepted = await Post("/.porter/oob-work", signed);
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        Assert.Contains(expectedBody, await accepted.Content.ReadAsStringAsync());
    }

    private static string WsgiLoader => Path.Combine(Repo.Root, "src", "Workers", "Spawning", "wsgi_loader.py");

    private static async Task<string[]> DirectCommandAsync(string example) => example switch
    {
        "hello-node" => ["node", "--expose-gc", "app.js"],
        "hello-python" => ["python3", WsgiLoader, Repo.Example(example)],
        _ => ["dotnet", await HelloDotnetDllAsync()],
    };

    /// <summary>An app process started without Porter, with PORT and PORTER_OOB_SECRET set as Porter would set them.</summary>
    private sealed class DirectApp : IAsyncDisposable
    {
        private readonly Process _process;

        private DirectApp(Process process, int port)
        {
            _process = process;
            Client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
        }

        public HttpClient Client { get; }

        public static async Task<DirectApp> StartAsync(string[] command, string workingDirectory, string secret)
        {
            var port = Repo.FreePort();
            var psi = new ProcessStartInfo(command[0]) { WorkingDirectory = workingDirectory, UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var arg in command[1..]) psi.ArgumentList.Add(arg);
            psi.Environment["PORT"] = port.ToString(CultureInfo.InvariantCulture);
            psi.Environment[OobWorkSignature.EnvironmentVariable] = secret;
            var app = new DirectApp(Process.Start(psi)!, port);
            app._process.OutputDataReceived += (_, _) => { };
            app._process.ErrorDataReceived += (_, _) => { };
            app._process.BeginOutputReadLine();
            app._process.BeginErrorReadLine();
            try
            {
                await Poll.UntilAsync(async () =>
                {
                    if (app._process.HasExited) throw new InvalidOperationException($"{command[0]} exited with {app._process.ExitCode}");
                    using var response = await app.Client.GetAsync("/pid");
                    return (object)response.StatusCode;
                }, TimeSpan.FromSeconds(60), $"{string.Join(' ', command)} to listen");
            }
            catch
            {
                await app.DisposeAsync();
                throw;
            }
            return app;
        }

        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            if (!_process.HasExited)
            {
                PorterProcess.Kill(_process.Id, 15);
                using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(15));
                try { await _process.WaitForExitAsync(wait.Token); }
                catch (OperationCanceledException) { _process.Kill(); }
            }
            _process.Dispose();
        }
    }

    [Theory]
    [MemberData(nameof(Examples))]
    public async Task Serves_public_files_with_validators_and_ranges(string example)
    {
        await using var porter = await PorterProcess.StartAsync(await StartArgsAsync(example));
        var expected = await File.ReadAllTextAsync(Path.Combine(Repo.Example(example), "public", "hello.txt"));

        using var response = await porter.Client.GetAsync("/hello.txt");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(expected, await response.Content.ReadAsStringAsync());
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        Assert.NotNull(response.Headers.ETag);
        Assert.NotNull(response.Content.Headers.LastModified);
        Assert.Equal("bytes", response.Headers.AcceptRanges.Single());

        var conditional = new HttpRequestMessage(HttpMethod.Get, "/hello.txt");
        conditional.Headers.IfNoneMatch.Add(response.Headers.ETag!);
        using var notModified = await porter.Client.SendAsync(conditional);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);

        var ranged = new HttpRequestMessage(HttpMethod.Get, "/hello.txt");
        ranged.Headers.Range = new RangeHeaderValue(0, 4);
        using var partial = await porter.Client.SendAsync(ranged);
        Assert.Equal(HttpStatusCode.PartialContent, partial.StatusCode);
        Assert.Equal(expected[..5], await partial.Content.ReadAsStringAsync());
    }
}
