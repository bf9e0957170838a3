using Porter.Contracts.Caching;

namespace Porter.Contracts.Tests.Caching;

public sealed class HeaderBlockTests
{
    private static readonly HeaderField[] Fields =
    [
        new("Date", ["Sat, 01 Mar 2025 12:00:00 GMT"]),
        new("Set-Cookie", ["a=1", "b=2"]),
        new("X-Ünicode", ["naïve ✓"]),
        new("ETag", ["\"caf\u00e9 \u0080\u00ff\""]), // obs-text bytes, as Porter reads them: one char per byte
        new("X-Empty", []),
        new("X-Blank", [""]),
        new("x-custom", [new string('v', 300)]),
        new("X-Custom", ["repeated name, kept apart"]),
    ];

    [Fact]
    public void Fields_round_trip_in_order_with_every_value()
    {
        var decoded = HeaderBlock.Decode(HeaderBlock.Encode(Fields));

        Assert.Equal(Fields.Length, decoded.Length);
        for (int i = 0; i < Fields.Length; i++)
        {
            Assert.Equal(Fields[i].Name, decoded[i].Name);
            Assert.Equal(Fields[i].Values, decoded[i].Values);
        }
    }

    [Fact]
    public void No_fields_is_the_one_byte_empty_block()
    {
        Assert.Equal(HeaderBlock.Empty, HeaderBlock.Encode([]));
        Assert.Empty(HeaderBlock.Decode(HeaderBlock.Empty));
    }

    [Fact]
    public void Common_names_decode_to_shared_strings()
    {
        var first = HeaderBlock.Decode(HeaderBlock.Encode([new(new string("Cache-Control".AsSpan()), ["max-age=1"])]));
        var second = HeaderBlock.Decode(HeaderBlock.Encode([new(new string("Cache-Control".AsSpan()), ["max-age=2"])]));
        Assert.Same(first[0].Name, second[0].Name);
    }

    [Fact]
    public void Block_is_smaller_than_the_text_it_holds_as_strings()
    {
        var block = HeaderBlock.Encode([new("Cache-Control", ["public, max-age=60"]), new("Content-Type", ["text/html; charset=utf-8"])]);
        // One length byte per name, count and value, plus one for the field count: no per-field objects or UTF-16.
        Assert.Equal(1 + (1 + 13 + 1 + 1 + 18) + (1 + 12 + 1 + 1 + 24), block.Length);
    }

    [Theory]
    [InlineData("etag", true)]
    [InlineData("Last-Modified", false)]
    [InlineData("Date", true)]
    public void Contains_finds_names_case_insensitively(string name, bool expected)
    {
        var block = HeaderBlock.Encode([new("Date", ["x"]), new("ETag", ["\"v1\""])]);
        Assert.Equal(expected, HeaderBlock.Contains(block, name));
    }

    [Fact]
    public void Truncated_or_padded_bytes_are_a_format_error()
    {
        var block = HeaderBlock.Encode(Fields);
        Assert.Throws<FormatException>(() => HeaderBlock.Decode(block.AsSpan(0, block.Length - 1)));
        Assert.Throws<FormatException>(() => HeaderBlock.Decode([.. block, 0]));
    }

    [Fact]
    public void Builder_refuses_more_or_fewer_fields_than_declared()
    {
        var builder = new HeaderBlock.Builder(1);
        Assert.Throws<InvalidOperationException>(() => builder.ToArray());
        builder.AddName("A", 0);
        Assert.Throws<InvalidOperationException>(() => builder.AddName("B", 0));
    }
}
