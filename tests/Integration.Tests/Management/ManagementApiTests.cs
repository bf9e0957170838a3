using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Porter.Integration.Tests.Infrastructure;

namespace Porter.Integration.Tests.Management;

/// <summary>One node with a management token, its management API on its own port.</summary>
public sealed class ManagedNodeFixture : IAsyncLifetime
{
    public const string Token = "test-management-token-123";

    public PorterProcess Porter { get; private set; } = null!;

    public async Task InitializeAsync() =>
        Porter = await PorterProcess.StartAsync([Repo.TestApp], environment: new Dictionary<string, string> { ["PORTER__MANAGEMENT__TOKEN"] = Token });

    public async Task DisposeAsync() => await Porter.DisposeAsync();
}

public sealed class ManagementApiTests(ManagedNodeFixture fixture) : IClassFixture<ManagedNodeFixture>
{
    private HttpClient Management => fixture.Porter.Management;

    private async Task<JsonElement> JsonAsync(string path)
    {
        using var response = await Management.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
    }

    [Fact]
    public async Task Alive_and_ready_answer_200_once_the_node_is_up()
    {
        using var alive = await Management.GetAsync("/alive");
        Assert.Equal(HttpStatusCode.OK, alive.StatusCode);
        await Poll.UntilAsync(async () => (await Management.GetAsync("/ready")).StatusCode == HttpStatusCode.OK ? "" : null,
            TimeSpan.FromSeconds(30), "/ready");
    }

    [Fact]
    public async Task Members_lists_this_node_up_with_all_three_roles()
    {
        var doc = await JsonAsync("/cluster/members");
        var self = doc.GetProperty("selfNode").GetString();
        Assert.StartsWith("akka.tcp://porter@127.0.0.1:", self);
        Assert.Equal(self, doc.GetProperty("leader").GetString());
        Assert.Equal(self, doc.GetProperty("oldest").GetString());
        Assert.Equal(["cache", "gateway", "worker"], doc.GetProperty("oldestPerRole").EnumerateObject().Select(p => p.Name));
        Assert.All(doc.GetProperty("oldestPerRole").EnumerateObject(), p => Assert.Equal(self, p.Value.GetString()));
        var member = Assert.Single(doc.GetProperty("members").EnumerateArray());
        Assert.Equal("Up", member.GetProperty("status").GetString());
        Assert.Equal(["cache", "gateway", "worker"], member.GetProperty("roles").EnumerateArray().Select(r => r.GetString()));
        Assert.Empty(doc.GetProperty("unreachable").EnumerateArray());

        var one = await JsonAsync("/cluster/members/" + Uri.EscapeDataString(self!));
        Assert.Equal(self, one.GetProperty("node").GetString());
    }

    [Fact]
    public async Task Unknown_or_malformed_member_addresses_are_404_and_400_with_json()
    {
        using var unknown = await Management.GetAsync("/cluster/members/" + Uri.EscapeDataString("akka.tcp://porter@127.0.0.9:1"));
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.True(JsonDocument.Parse(await unknown.Content.ReadAsStringAsync()).RootElement.TryGetProperty("error", out _));
        using var malformed = await Management.GetAsync("/cluster/members/not-an-address");
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        using var region = await Management.GetAsync("/cluster/shards/no-such-region");
        Assert.Equal(HttpStatusCode.NotFound, region.StatusCode);
    }

    [Fact]
    public async Task Mutating_routes_refuse_without_the_token_and_check_the_operation_with_it()
    {
        var self = (await JsonAsync("/cluster/members")).GetProperty("selfNode").GetString()!;
        var path = "/cluster/members/" + Uri.EscapeDataString(self);

        using var noToken = await Management.PutAsync(path, new FormUrlEncodedContent([new("operation", "leave")]));
        Assert.Equal(HttpStatusCode.Unauthorized, noToken.StatusCode);

        var wrong = new HttpRequestMessage(HttpMethod.Put, path) { Content = new FormUrlEncodedContent([new("operation", "leave")]) };
        wrong.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "wrong-token");
        using var wrongResponse = await Management.SendAsync(wrong);
        Assert.Equal(HttpStatusCode.Forbidden, wrongResponse.StatusCode);

        var badOperation = new HttpRequestMessage(HttpMethod.Put, path) { Content = new FormUrlEncodedContent([new("operation", "explode")]) };
        badOperation.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ManagedNodeFixture.Token);
        using var badResponse = await Management.SendAsync(badOperation);
        Assert.Equal(HttpStatusCode.BadRequest, badResponse.StatusCode);

        var delete = new HttpRequestMessage(HttpMethod.Delete, path);
        using var deleteNoToken = await Management.SendAsync(delete);
        Assert.Equal(HttpStatusCode.Unauthorized, deleteNoToken.StatusCode);
        // The node is still a member: nothing was done without the token.
        Assert.Single((await JsonAsync("/cluster/members")).GetProperty("members").EnumerateArray());
    }

    [Fact]
    public async Task Metrics_parse_as_prometheus_text_and_count_requests()
    {
        using (await fixture.Porter.Client.GetAsync("/pid")) { }
        using var response = await Management.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        var samples = PrometheusText.Parse(text);
        Assert.Contains(samples, s => s.Name.StartsWith("porter_requests", StringComparison.Ordinal) && s.Labels.GetValueOrDefault("app") == "testapp" && s.Value >= 1);
        Assert.Contains(samples, s => s.Name.StartsWith("porter_cluster_members", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Management_routes_are_not_served_on_the_public_port()
    {
        using var response = await fixture.Porter.Client.GetAsync("/cluster/members");
        Assert.DoesNotContain("selfNode", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Pool_lists_the_app_processes_with_their_counters()
    {
        var pid = int.Parse(await fixture.Porter.Client.GetStringAsync("/pid"), System.Globalization.CultureInfo.InvariantCulture);
        var node = Assert.Single((await JsonAsync("/pool")).GetProperty("nodes").EnumerateArray());
        var app = Assert.Single(node.GetProperty("apps").EnumerateArray());
        Assert.Equal("testapp", app.GetProperty("name").GetString());
        var process = app.GetProperty("processes").EnumerateArray().Single(p => p.GetProperty("pid").GetInt32() == pid);
        Assert.Equal("enabled", process.GetProperty("state").GetString());
        Assert.True(process.GetProperty("processed").GetInt64() >= 1);
    }

    [Fact]
    public async Task Restart_route_needs_the_token_and_restarts_the_app()
    {
        using var refused = await Management.PostAsync("/pool/apps/testapp/restart", null);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);

        var unknown = new HttpRequestMessage(HttpMethod.Post, "/pool/apps/nope/restart");
        unknown.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ManagedNodeFixture.Token);
        using var unknownResponse = await Management.SendAsync(unknown);
        Assert.Equal(HttpStatusCode.NotFound, unknownResponse.StatusCode);

        var before = int.Parse(await fixture.Porter.Client.GetStringAsync("/pid"), System.Globalization.CultureInfo.InvariantCulture);
        var restart = new HttpRequestMessage(HttpMethod.Post, "/pool/apps/testapp/restart");
        restart.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ManagedNodeFixture.Token);
        using var accepted = await Management.SendAsync(restart);
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        await Poll.UntilAsync(async () =>
            int.Parse(await fixture.Porter.Client.GetStringAsync("/pid"), System.Globalization.CultureInfo.InvariantCulture) != before ? "" : null,
            TimeSpan.FromSeconds(30), "a new process after the restart");
    }

    [Fact]
    public async Task Status_prints_members_and_processes_and_fails_cleanly_when_unreachable()
    {
        var pid = (await fixture.Porter.Client.GetStringAsync("/pid")).Trim();
        var status = await PorterCommand.RunAsync("status", "--url", $"http://127.0.0.1:{fixture.Porter.ManagementPort}");
        Assert.Equal(0, status.ExitCode);
        Assert.Contains("Members : 1 Up", status.Stdout);
        Assert.Contains("testapp", status.Stdout);
        Assert.Contains("PID:", status.Stdout);

        var json = await PorterCommand.RunAsync("status", "--url", $"http://127.0.0.1:{fixture.Porter.ManagementPort}", "--json", "--show=pool");
        Assert.Equal(0, json.ExitCode);
        Assert.True(JsonDocument.Parse(json.Stdout).RootElement.TryGetProperty("pool", out _));

        var unreachable = await PorterCommand.RunAsync("status", "--url", $"http://127.0.0.1:{Repo.FreePort()}");
        Assert.Equal(1, unreachable.ExitCode);
        Assert.Single(unreachable.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task Oob_reports_the_coordinator_state_after_a_requested_run()
    {
        // The app asks for OOB work in its response; the client never sees the header.
        using var response = await fixture.Porter.Client.GetAsync("/pid?oob=1");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(response.Headers.Contains("X-Porter-Request-OOB-Work"));

        var oob = (await Poll.UntilAsync<JsonElement?>(async () =>
        {
            var doc = await JsonAsync("/oob");
            return doc.GetProperty("cluster").GetProperty("runs").GetInt64() >= 1 ? doc : null;
        }, TimeSpan.FromSeconds(30), "a completed OOB run in /oob"))!.Value;
        Assert.Equal(1, oob.GetProperty("maxConcurrent").GetInt32());
        var app = Assert.Single(oob.GetProperty("apps").EnumerateArray());
        Assert.Equal("testapp", app.GetProperty("app").GetString());
        Assert.True(app.GetProperty("counters").GetProperty("maxDurationMs").GetDouble() > 0);

        var status = await PorterCommand.RunAsync("status", "--url", $"http://127.0.0.1:{fixture.Porter.ManagementPort}", "--show=oob");
        Assert.Equal(0, status.ExitCode);
        Assert.Contains("Tokens per scope : 1", status.Stdout);
        Assert.Contains("  testapp: ", status.Stdout);
    }

    [Fact]
    public async Task Seed_nodes_answer_in_the_bootstrap_shape()
    {
        // Akka.Management's HttpBootstrapJsonProtocol.SeedNodes as Newtonsoft writes it: what its bootstrap client reads.
        var doc = await JsonAsync("/bootstrap/seed-nodes");
        var self = doc.GetProperty("SelfNode");
        Assert.Equal("porter", self.GetProperty("System").GetString());
        Assert.Equal("127.0.0.1", self.GetProperty("Host").GetString());
        var seed = Assert.Single(doc.GetProperty("Nodes").EnumerateArray());
        Assert.Equal(self.GetProperty("Port").GetInt32(), seed.GetProperty("Node").GetProperty("Port").GetInt32());
        Assert.Equal((int)Akka.Cluster.MemberStatus.Up, seed.GetProperty("Status").GetInt32());
    }
}
