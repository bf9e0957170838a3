using Porter.CacheShard.Policy;
using Porter.Contracts.Ids;
using static Porter.CacheShard.Tests.TestHttp;

namespace Porter.CacheShard.Tests.Policy;

public sealed class InvalidationPolicyTests
{
    private static IReadOnlyList<CacheKey> Keys(string method, int status, params string[] responseHeaders) =>
        InvalidationPolicy.KeysToInvalidate(method, status, "blog", "https", "Example.com", "/posts/7/comments", "?page=2", Headers(responseHeaders));

    private static CacheKey Key(string url) => CacheKey.FromUri("blog", new Uri(url));

    [Theory]
    [InlineData("POST", 200, true)]
    [InlineData("POST", 201, true)]
    [InlineData("PUT", 204, true)]
    [InlineData("DELETE", 303, true)]
    [InlineData("PATCH", 301, true)]
    [InlineData("CUSTOM", 200, true)]
    [InlineData("POST", 400, false)]
    [InlineData("POST", 404, false)]
    [InlineData("POST", 500, false)]
    [InlineData("POST", 100, false)]
    [InlineData("GET", 200, false)]
    [InlineData("HEAD", 200, false)]
    [InlineData("OPTIONS", 200, false)]
    public void Only_non_error_responses_to_unsafe_methods_invalidate(string method, int status, bool invalidates)
    {
        var keys = Keys(method, status);
        Assert.Equal(invalidates, keys.Count > 0);
        if (invalidates)
            Assert.Equal(Key("https://example.com/posts/7/comments?page=2"), keys[0]);
    }

    [Fact]
    public void Invalidates_relative_location_resolved_against_the_request()
    {
        Assert.Equal([Key("https://example.com/posts/7/comments?page=2"), Key("https://example.com/posts/7/comments/12")],
            Keys("POST", 201, "Location: comments/12"));
        Assert.Equal(Key("https://example.com/posts/7"), Keys("POST", 303, "Location: /posts/7")[1]);
    }

    [Fact]
    public void Invalidates_same_host_content_location()
    {
        Assert.Equal(Key("https://example.com/posts/7"), Keys("PUT", 200, "Content-Location: https://EXAMPLE.com:443/posts/7")[1]);
    }

    [Fact]
    public void Invalidates_same_host_on_another_port()
    {
        Assert.Equal(Key("http://example.com:8080/x"), Keys("POST", 201, "Location: http://example.com:8080/x")[1]);
    }

    [Theory]
    [InlineData("Location: https://other.example/posts/7")]
    [InlineData("Location: //evil.example/posts/7")]
    [InlineData("Content-Location: https://sub.example.com/posts/7")]
    [InlineData("Location: mailto:someone@example.com")]
    public void Ignores_locations_on_other_hosts(string header)
    {
        Assert.Single(Keys("POST", 201, header));
    }

    [Fact]
    public void Lists_each_key_once()
    {
        var keys = Keys("POST", 201, "Location: /posts/7", "Content-Location: /posts/7");
        Assert.Equal(2, keys.Count);
    }

    [Fact]
    public void Error_response_invalidates_nothing_even_with_location()
    {
        Assert.Empty(Keys("POST", 500, "Location: /posts/7"));
    }
}
