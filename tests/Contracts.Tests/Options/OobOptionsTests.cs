using Porter.Contracts.Ids;
using Porter.Contracts.Options;

namespace Porter.Contracts.Tests.Options;

public sealed class OobOptionsTests
{
    [Fact]
    public void Defaults_are_valid_and_match_the_issue()
    {
        var options = new OobOptions();
        Assert.Empty(options.Validate());
        Assert.Equal((1, OobScope.Cluster, TimeSpan.FromMinutes(2), TimeSpan.FromSeconds(60), 30.0),
            (options.MaxConcurrent, options.Scope, options.LeaseTime, options.WorkTimeout, options.TokenWaitTimeout));
    }

    [Fact]
    public void Scope_key_is_shared_cluster_wide_or_per_app()
    {
        Assert.Equal("cluster", new OobOptions().ScopeKeyFor(new AppName("blog")));
        Assert.Equal("app/blog", new OobOptions { Scope = OobScope.App }.ScopeKeyFor(new AppName("blog")));
        // An app called "cluster" does not share the cluster-wide scope.
        Assert.NotEqual(OobOptions.ClusterScopeKey, new OobOptions { Scope = OobScope.App }.ScopeKeyFor(new AppName("cluster")));
    }

    [Fact]
    public void Reports_each_invalid_setting()
    {
        var options = new OobOptions { MaxConcurrent = 0, Scope = (OobScope)7, LeaseTime = TimeSpan.Zero, WorkTimeout = TimeSpan.Zero, SnapshotEvery = 0, TokenWaitTimeout = 0 };
        Assert.Equal(6, options.Validate().Count);
    }

    [Fact]
    public void Work_timeout_must_end_before_the_lease()
    {
        var errors = new OobOptions { WorkTimeout = TimeSpan.FromMinutes(2) }.Validate();
        Assert.Contains(errors, e => e.Contains("shorter than LeaseTime", StringComparison.Ordinal));
    }
}
