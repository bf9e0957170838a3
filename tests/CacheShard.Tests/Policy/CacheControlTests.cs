using Porter.CacheShard.Policy;

namespace Porter.CacheShard.Tests.Policy;

public sealed class CacheControlTests
{
    [Theory]
    [InlineData("max-age=60", 60)]
    [InlineData("MAX-AGE=60", 60)]
    [InlineData("Max-Age = 60", 60)]
    [InlineData("max-age=\"60\"", 60)]
    [InlineData("public, max-age=60, must-revalidate", 60)]
    [InlineData("max-age=60, max-age=10", 10)]
    [InlineData("max-age=10, max-age=60", 10)]
    [InlineData("max-age=-1", 0)]
    [InlineData("max-age=abc", 0)]
    [InlineData("max-age=12abc", 0)]
    [InlineData("max-age=", 0)]
    [InlineData("max-age", 0)]
    [InlineData("max-age=1.5", 0)]
    [InlineData("max-age=99999999999999999999999", CacheControl.MaxDeltaSeconds)]
    [InlineData("max-age=2147483648", CacheControl.MaxDeltaSeconds)]
    [InlineData("max-age=2147483647", 2147483647)]
    public void Parses_max_age_robustly(string header, long expected)
    {
        Assert.Equal(expected, CacheControl.Parse(header).MaxAge);
    }

    [Fact]
    public void Reads_directives_from_every_field_line()
    {
        var cc = CacheControl.Parse(new Microsoft.Extensions.Primitives.StringValues(["public", "s-maxage=30", "max-age=5"]));
        Assert.True(cc.Public);
        Assert.Equal(30, cc.SMaxAge);
        Assert.Equal(5, cc.MaxAge);
    }

    [Fact]
    public void Quoted_argument_with_commas_does_not_leak_directives()
    {
        var cc = CacheControl.Parse("no-cache=\"Set-Cookie, max-age=5, private\", max-age=60");
        Assert.True(cc.NoCache);
        Assert.False(cc.Private);
        Assert.Equal(60, cc.MaxAge);
    }

    [Fact]
    public void Quoted_argument_with_escaped_quote_is_skipped_whole()
    {
        var cc = CacheControl.Parse("community=\"a\\\", private\", max-age=60");
        Assert.False(cc.Private);
        Assert.Equal(60, cc.MaxAge);
    }

    [Theory]
    [InlineData("no-store")]
    [InlineData("NO-STORE")]
    [InlineData("max-age=60,no-store")]
    [InlineData("  max-age=60 ,  no-store  ")]
    [InlineData("foo=\"bar\", no-store")]
    public void Finds_no_store_wherever_it_is(string header)
    {
        Assert.True(CacheControl.Parse(header).NoStore);
    }

    [Fact]
    public void Qualified_private_counts_as_private()
    {
        Assert.True(CacheControl.Parse("private=\"Set-Cookie\", max-age=60").Private);
    }

    [Fact]
    public void Absent_header_has_no_directives()
    {
        var cc = CacheControl.Parse(default);
        Assert.False(cc.IsPresent);
        Assert.Null(cc.MaxAge);
        Assert.False(cc.NoStore);
    }

    [Fact]
    public void Unknown_directives_are_ignored()
    {
        var cc = CacheControl.Parse("x-foo, bar=baz, max-age=7, immutable");
        Assert.Equal(7, cc.MaxAge);
        Assert.False(cc.NoCache);
    }

    [Fact]
    public void Reads_stale_windows_and_request_directives()
    {
        var cc = CacheControl.Parse("stale-while-revalidate=30, stale-if-error=600, min-fresh=5, only-if-cached");
        Assert.Equal(30, cc.StaleWhileRevalidate);
        Assert.Equal(600, cc.StaleIfError);
        Assert.Equal(5, cc.MinFresh);
        Assert.True(cc.OnlyIfCached);
    }
}
