using Akka.Cluster;
using Porter.Contracts.Options;
using Porter.Integration.Tests.Infrastructure;

namespace Porter.Integration.Tests.Clustering;

public sealed class TwoNodeClusterTests
{
    [Fact]
    public async Task Second_node_joins_the_first_through_its_seed_address()
    {
        await using var first = await InProcessNode.StartAsync(new AppOptions { Name = "testapp", Root = Repo.TestApp });
        await using var second = await InProcessNode.StartAsync(new AppOptions { Name = "testapp", Root = Repo.TestApp }, seed: first);
        await Poll.UntilAsync(() => Cluster.Get(first.System).State.Members.Count(m => m.Status == MemberStatus.Up) == 2,
            TimeSpan.FromSeconds(30), "two Up members");
        var roles = Cluster.Get(second.System).SelfMember.Roles;
        Assert.Contains("gateway", roles);
        Assert.Contains("cache", roles);
        Assert.Contains("worker", roles);
        using var response = await second.Client.GetAsync("/pid");
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }
}
