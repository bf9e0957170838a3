using Porter.Contracts.Ids;

namespace Porter.CacheShard.Tests.Policy;

public sealed class CacheKeyTests
{
    [Fact]
    public void Key_text_is_app_scheme_host_path_and_query()
    {
        Assert.Equal("blog https://example.com/posts?id=1", CacheKey.Create("blog", "https", "example.com", "/posts", "?id=1").Value);
    }

    [Theory]
    [InlineData("http", "Example.COM", "blog http://example.com/")]
    [InlineData("HTTP", "example.com:80", "blog http://example.com/")]
    [InlineData("https", "example.com:443", "blog https://example.com/")]
    [InlineData("http", "example.com:", "blog http://example.com/")]
    [InlineData("https", "example.com:80", "blog https://example.com:80/")]
    [InlineData("http", "example.com:443", "blog http://example.com:443/")]
    [InlineData("http", "example.com:8080", "blog http://example.com:8080/")]
    [InlineData("http", "[::1]:80", "blog http://[::1]/")]
    [InlineData("http", "[::1]:8080", "blog http://[::1]:8080/")]
    [InlineData("http", "[::1]", "blog http://[::1]/")]
    [InlineData("http", "127.0.0.1:80", "blog http://127.0.0.1/")]
    public void Host_is_lower_cased_and_default_port_dropped(string scheme, string host, string expected)
    {
        Assert.Equal(expected, CacheKey.Create("blog", scheme, host, "/", null).Value);
    }

    [Fact]
    public void Path_is_case_sensitive()
    {
        Assert.NotEqual(CacheKey.Create("a", "http", "h", "/Posts", null), CacheKey.Create("a", "http", "h", "/posts", null));
    }

    [Theory]
    [InlineData("?b=2&a=1", "?a=1&b=2")]
    [InlineData("?a=1", "?A=1")]
    [InlineData("?a=%41", "?a=A")]
    [InlineData("?", "")]
    public void Query_is_kept_exactly(string one, string other)
    {
        Assert.NotEqual(CacheKey.Create("a", "http", "h", "/", one), CacheKey.Create("a", "http", "h", "/", other));
    }

    [Fact]
    public void Query_may_be_given_with_or_without_its_question_mark()
    {
        Assert.Equal(CacheKey.Create("a", "http", "h", "/p", "?x=1"), CacheKey.Create("a", "http", "h", "/p", "x=1"));
    }

    [Fact]
    public void Empty_path_is_the_root()
    {
        Assert.Equal(CacheKey.Create("a", "http", "h", "/", ""), CacheKey.Create("a", "http", "h", "", ""));
    }

    [Fact]
    public void Apps_have_separate_keys()
    {
        Assert.NotEqual(CacheKey.Create("a", "http", "h", "/", ""), CacheKey.Create("b", "http", "h", "/", ""));
    }

    [Fact]
    public void Key_from_uri_equals_key_from_parts()
    {
        Assert.Equal(CacheKey.Create("a", "https", "Example.com:443", "/x/y", "?q=1"),
            CacheKey.FromUri("a", new Uri("https://EXAMPLE.com/x/y?q=1")));
    }

    [Fact]
    public void Parts_format_into_a_buffer_of_exactly_their_length()
    {
        var parts = new CacheKeyParts("blog", "HTTPS", "Example.com:443", "/a", "b=1");
        Span<char> buffer = stackalloc char[parts.Length];
        Assert.Equal(parts.Length, parts.Format(buffer));
        Assert.Equal("blog https://example.com/a?b=1", buffer.ToString());
    }

    [Fact]
    public void Formatting_into_a_short_buffer_is_refused()
    {
        var parts = new CacheKeyParts("blog", "http", "h", "/", "");
        var buffer = new char[parts.Length - 1];
        Assert.Throws<ArgumentException>(() => new CacheKeyParts("blog", "http", "h", "/", "").Format(buffer));
    }

    [Fact]
    public void Long_keys_are_formatted_too()
    {
        string path = "/" + new string('p', 2000);
        Assert.Equal($"a http://h{path}", CacheKey.Create("a", "http", "h", path, null).Value);
    }
}
