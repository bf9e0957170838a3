using Porter.Hosting.Edge;

namespace Porter.Hosting.Tests.Edge;

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
    public void Decodes_through_the_span_path_kestrel_uses_one_char_per_byte_like_every_header()
    {
        Assert.Equal("close, X-Foo, keep-alive", ConnectionHeaderEncoding.Instance.GetString("close, X-Foo"u8));
        // One char per byte, as every other header (obs-text passes); NUL is refused, as Kestrel refuses it.
        Assert.Equal("c\u00e9", ConnectionHeaderEncoding.Instance.GetString([0x63, 0xE9]));
        Assert.Throws<System.Text.DecoderFallbackException>(() => ConnectionHeaderEncoding.Instance.GetString([0x63, 0x00]));
        Assert.Same(ConnectionHeaderEncoding.Instance, ConnectionHeaderEncoding.Selector("connection"));
        Assert.Same(HeaderBytes.Encoding, ConnectionHeaderEncoding.Selector("Cookie"));
    }
}
