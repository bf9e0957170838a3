using Porter.Workers.Dispatching;

namespace Porter.Workers.Tests.Dispatching;

public sealed class ConnectionHeaderEncodingTests
{
    [Theory]
    [InlineData("keep-alive", "keep-alive")]
    [InlineData("close", "close")]
    [InlineData("Upgrade", "Upgrade")]
    [InlineData("keep-alive, Upgrade", "keep-alive, Upgrade")]
    [InlineData("X-Foo, Y-Bar", "X-Foo, Y-Bar")]
    [InlineData("close, X-Foo", "close, X-Foo, keep-alive")]
    [InlineData("Upgrade, X-Foo", "Upgrade, X-Foo, keep-alive")]
    [InlineData("keep-alive, X-Foo", "X-Foo")]
    [InlineData("X-Foo,Keep-Alive, Cookie", "X-Foo, Cookie")]
    public void Keeps_the_listed_names_where_kestrel_would_reduce_the_value_to_its_option(string received, string kept) =>
        Assert.Equal(kept, ConnectionHeaderEncoding.Rewrite(received));

    [Fact]
    public void Decodes_through_the_span_path_kestrel_uses_and_refuses_what_kestrel_refuses()
    {
        Assert.Equal("close, X-Foo, keep-alive", ConnectionHeaderEncoding.Instance.GetString("close, X-Foo"u8));
        Assert.Throws<System.Text.DecoderFallbackException>(() => ConnectionHeaderEncoding.Instance.GetString([0x63, 0xE9]));
        Assert.Throws<System.Text.DecoderFallbackException>(() => ConnectionHeaderEncoding.Instance.GetString([0x63, 0x00]));
        Assert.Same(ConnectionHeaderEncoding.Instance, ConnectionHeaderEncoding.Selector("connection"));
        Assert.Null(ConnectionHeaderEncoding.Selector("Cookie"));
    }
}
