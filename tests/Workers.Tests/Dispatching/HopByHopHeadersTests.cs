using Microsoft.AspNetCore.Http;
using Porter.Workers.Dispatching;

namespace Porter.Workers.Tests.Dispatching;

public sealed class HopByHopHeadersTests
{
    private static IHeaderDictionary Clean(string connection, params (string Name, string Value)[] headers)
    {
        var context = new DefaultHttpContext();
        context.Request.Headers.Connection = connection;
        foreach (var (name, value) in headers) context.Request.Headers[name] = value;
        HopByHopHeaders.RemoveFromRequest(context);
        return context.Request.Headers;
    }

    [Theory]
    [InlineData("X-Foo")]
    [InlineData("keep-alive, X-Foo")]
    [InlineData("close, X-Foo")]
    [InlineData("Upgrade, X-Foo")]
    [InlineData("x-foo , KEEP-ALIVE")]
    public void Removes_every_listed_header_whatever_else_connection_says(string connection)
    {
        var headers = Clean(connection, ("X-Foo", "1"), ("X-Bar", "2"));
        Assert.False(headers.ContainsKey("X-Foo"));
        Assert.Equal("2", headers["X-Bar"]);
        // Connection itself stays for Kestrel and YARP; YARP never forwards it.
        Assert.Equal(connection, headers.Connection);
    }

    [Fact]
    public void A_listed_cookie_is_gone_before_the_cache_reads_it()
    {
        var headers = Clean("close, Cookie", ("Cookie", "user_id=member"));
        Assert.False(headers.ContainsKey("Cookie"));
    }

    [Fact]
    public void Keeps_framing_and_routing_headers_and_upgrade_only_on_a_real_upgrade()
    {
        var headers = Clean("Host, Content-Length, Transfer-Encoding, Upgrade", ("Host", "shop.example"), ("Content-Length", "5"),
            ("Transfer-Encoding", "chunked"), ("Upgrade", "h2c"));
        Assert.Equal("shop.example", headers.Host);
        Assert.Equal("5", headers.ContentLength?.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal("chunked", headers.TransferEncoding);
        // A DefaultHttpContext offers no upgrade: Upgrade is just another hop-by-hop header then.
        Assert.False(headers.ContainsKey("Upgrade"));
    }

    [Fact]
    public void Removes_the_fixed_hop_by_hop_headers_unlisted()
    {
        var headers = Clean("keep-alive", ("Keep-Alive", "timeout=5"), ("Proxy-Connection", "keep-alive"), ("Proxy-Authorization", "Basic x"),
            ("TE", "trailers"), ("Trailer", "X-Sum"), ("X-End-To-End", "kept"));
        Assert.Equal(["Connection", "X-End-To-End"], headers.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Removes_what_an_app_response_lists_but_not_its_upgrade()
    {
        var context = new DefaultHttpContext();
        var headers = context.Response.Headers;
        headers["X-Private"] = "1";
        headers["Upgrade"] = "websocket";
        headers["X-Public"] = "2";
        using var message = new HttpResponseMessage();
        message.Headers.TryAddWithoutValidation("Connection", "keep-alive, X-Private, Upgrade");
        Assert.True(message.Headers.NonValidated.TryGetValues("Connection", out var connection));
        HopByHopHeaders.RemoveListedFromResponse(headers, connection);
        Assert.False(headers.ContainsKey("X-Private"));
        Assert.True(headers.ContainsKey("Upgrade"));
        Assert.True(headers.ContainsKey("X-Public"));
    }
}
