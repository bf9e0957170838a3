using System.Net;
using Porter.Integration.Tests.Infrastructure;

namespace Porter.Integration.Tests.RequestPath;

/// <summary>Several apps from one config file, each answering its own host names.</summary>
public sealed class MultitenancyTests
{
    [Fact]
    public async Task Routes_by_host_header_and_refuses_unknown_hosts()
    {
        var dir = Repo.TempDir("multi");
        var config = Path.Combine(dir, "porter.json");
        await File.WriteAllTextAsync(config, $$"""
            {
              "Apps": [
                { "Name": "node", "Root": "{{Repo.Example("hello-node")}}", "Hosts": ["node.test", "www.node.test"] },
                { "Name": "python", "Root": "{{Repo.Example("hello-python")}}", "Hosts": ["python.test"] }
              ]
            }
            """);
        await using var porter = await PorterProcess.StartAsync(["--config", config], waitForApp: false);

        async Task<(HttpStatusCode, string)> GetAsync(string host)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, "/");
            request.Headers.Host = host;
            using var response = await porter.Client.SendAsync(request);
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }

        var node = await Poll.UntilAsync(async () => await GetAsync("NODE.test:3000") is (HttpStatusCode.OK, var body) ? body : null,
            TimeSpan.FromSeconds(60), "the node app");
        Assert.Contains("hello-node", node);
        var python = await Poll.UntilAsync(async () => await GetAsync("python.test") is (HttpStatusCode.OK, var body) ? body : null,
            TimeSpan.FromSeconds(60), "the python app");
        Assert.Contains("hello-python", python);
        Assert.Contains("hello-node", (await GetAsync("www.node.test")).Item2);
        Assert.Equal(HttpStatusCode.NotFound, (await GetAsync("other.test")).Item1);
    }
}
