using Porter.Contracts.Caching;

namespace Porter.CacheShard.Tests.Policy;

public sealed class TurbocacheOptionsTests
{
    [Fact]
    public void Defaults_are_valid_and_conservative()
    {
        var options = new TurbocacheOptions();
        Assert.Empty(options.Validate());
        Assert.True(options.Enabled);
        Assert.Equal(1L << 20, options.MaxBodyBytes);
        Assert.Equal(256L << 20, options.MaxTotalBytes);
        Assert.Equal(TimeSpan.FromMilliseconds(500), options.NearCacheMaxStaleness);
        Assert.Equal(TimeSpan.FromMilliseconds(100), options.LookupBudget);
        Assert.Equal(TimeSpan.FromSeconds(5), options.CoalesceWaitTimeout);
        Assert.Equal("X-Cache", options.CacheStatusHeader);
        Assert.Equal(TimeSpan.FromMinutes(2), options.EntityIdleTimeout);
    }

    [Fact]
    public void Entities_must_passivate_after_a_positive_idle_time()
    {
        var errors = new TurbocacheOptions { EntityIdleTimeout = TimeSpan.Zero }.Validate();
        Assert.Contains(errors, e => e.Contains("EntityIdleTimeout", StringComparison.Ordinal));
    }

    [Fact]
    public void Validation_explains_each_problem()
    {
        var options = new TurbocacheOptions
        {
            MaxBodyBytes = 0,
            NearCacheMaxStaleness = TimeSpan.FromSeconds(-1),
            CoalesceWaitTimeout = TimeSpan.Zero,
            LookupBudget = TimeSpan.Zero,
            CacheStatusHeader = "X Cache",
        };
        var errors = options.Validate();
        Assert.Equal(5, errors.Count);
        Assert.Contains(errors, e => e.Contains("LookupBudget", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("MaxBodyBytes", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("CacheStatusHeader", StringComparison.Ordinal));
    }

    [Fact]
    public void Status_header_can_be_turned_off()
    {
        Assert.Empty(new TurbocacheOptions { CacheStatusHeader = null }.Validate());
        Assert.Empty(new TurbocacheOptions { CacheStatusHeader = "" }.Validate());
    }
}
