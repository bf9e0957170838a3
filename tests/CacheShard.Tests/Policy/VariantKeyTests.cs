using Porter.CacheShard.Policy;
using static Porter.CacheShard.Tests.TestHttp;

namespace Porter.CacheShard.Tests.Policy;

public sealed class VariantKeyTests
{
    private static VariantKey VariantFor(string vary, params string[] request) =>
        Evaluate(["Cache-Control: max-age=60", $"Vary: {vary}"], request).Variant!;

    [Fact]
    public void Ajax_and_page_requests_select_different_variants()
    {
        var ajax = VariantFor("X-Requested-With", "X-Requested-With: XMLHttpRequest");
        var page = VariantFor("X-Requested-With");

        Assert.True(ajax.Matches(Headers("x-requested-with: XMLHttpRequest")));
        Assert.False(ajax.Matches(Headers()));
        Assert.True(page.Matches(Headers("Accept: text/html")));
        Assert.False(page.Matches(Headers("X-Requested-With: XMLHttpRequest")));
    }

    [Fact]
    public void Absent_header_does_not_match_an_empty_one()
    {
        var absent = VariantFor("X-Flag");
        Assert.False(absent.Matches(Headers("X-Flag: ")));
        Assert.True(VariantFor("X-Flag", "X-Flag: ").Matches(Headers("X-Flag: ")));
    }

    [Theory]
    [InlineData("gzip,  deflate")]
    [InlineData(" gzip , deflate ")]
    [InlineData("gzip,deflate")]
    [InlineData("gzip, , deflate")]
    public void Values_match_after_normalising_whitespace_and_commas(string requestValue)
    {
        var variant = VariantFor("Accept-Encoding", "Accept-Encoding: gzip, deflate");
        Assert.True(variant.Matches(Headers($"Accept-Encoding: {requestValue}")));
    }

    [Fact]
    public void Values_on_several_lines_match_the_same_list_on_one_line()
    {
        var variant = VariantFor("Accept-Encoding", "Accept-Encoding: gzip, deflate");
        Assert.True(variant.Matches(Headers("Accept-Encoding: gzip", "Accept-Encoding: deflate")));
    }

    [Theory]
    [InlineData("Accept-Language: en  GB", "Accept-Language: en GB", true)]
    [InlineData("Accept-Language: en-GB", "Accept-Language: EN-gb", false)]
    [InlineData("Accept-Language: en, fr", "Accept-Language: fr, en", false)]
    public void Values_compare_exactly_after_normalising(string stored, string request, bool matches)
    {
        Assert.Equal(matches, VariantFor("Accept-Language", stored).Matches(Headers(request)));
    }

    [Fact]
    public void Long_values_are_compared_too()
    {
        string value = new('v', 1000);
        var variant = VariantFor("X-Long", $"X-Long: {value}");
        Assert.True(variant.Matches(Headers($"X-Long: {value}")));
        Assert.False(variant.Matches(Headers($"X-Long: {value}w")));
    }

    [Fact]
    public void Vary_cookie_variant_matches_only_the_same_cookie_value()
    {
        var staff = Evaluate(["Cache-Control: max-age=60"], ["Cookie: level=staff"], varyCookie: "level").Variant!;
        var anonymous = Evaluate(["Cache-Control: max-age=60"], [], varyCookie: "level").Variant!;

        Assert.True(staff.Matches(Headers("Cookie: theme=dark; level=staff")));
        Assert.False(staff.Matches(Headers("Cookie: level=member")));
        Assert.False(staff.Matches(Headers()));
        Assert.False(staff.Matches(Headers("Cookie: level=staff; level=member")));
        Assert.True(anonymous.Matches(Headers("Cookie: theme=dark")));
        Assert.False(anonymous.Matches(Headers("Cookie: level=staff")));
        // The app may read level=staff from these: neither entry answers them.
        Assert.False(anonymous.Matches(Headers("Cookie: theme=dark level=staff")));
        Assert.False(staff.Matches(Headers("Cookie: theme=dark, level=staff")));
    }

    [Fact]
    public void Response_without_vary_has_the_shared_variant()
    {
        Assert.Same(VariantKey.None, Evaluate(["Cache-Control: max-age=60"]).Variant);
        Assert.True(VariantKey.None.Matches(Headers("X-Requested-With: XMLHttpRequest", "Cookie: a=1")));
    }

    [Fact]
    public void Mismatched_names_and_values_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => new VariantKey(["a"], [], null, null));
    }
}
