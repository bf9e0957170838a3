using Microsoft.Extensions.Primitives;
using Porter.CacheShard.Policy;

namespace Porter.CacheShard.Tests.Policy;

public sealed class RequestCookiesTests
{
    private static (CookieLookup Lookup, string Value) Find(string name, params string[] cookieHeaders)
    {
        var lookup = RequestCookies.Find(new StringValues(cookieHeaders), name, out var value);
        return (lookup, value.ToString());
    }

    [Theory]
    [InlineData("user_id=42", "42")]
    [InlineData("a=1; user_id=42; b=2", "42")]
    [InlineData("a=1;user_id=42;b=2", "42")]
    [InlineData("  user_id=42  ; b=2", "42")]
    [InlineData("a=1;\tuser_id=42", "42")]
    [InlineData("user_id=", "")]
    [InlineData("user_id=a=b", "a=b")]
    [InlineData("a=1;; user_id=42;", "42")]
    [InlineData("$Version=1; user_id=42", "42")]
    public void Finds_the_named_cookie(string header, string expected)
    {
        Assert.Equal((CookieLookup.Found, expected), Find("user_id", header));
    }

    [Fact]
    public void Reads_every_cookie_header_line()
    {
        Assert.Equal((CookieLookup.Found, "7"), Find("user_id", "a=1", "b=2; user_id=7"));
    }

    [Theory]
    [InlineData("a=1; b=2")]
    [InlineData("user_id2=42")]
    [InlineData("xuser_id=42")]
    [InlineData("")]
    [InlineData(" ; ")]
    public void Reports_absent_cookie(string header)
    {
        Assert.Equal(CookieLookup.Absent, Find("user_id", header).Lookup);
    }

    [Fact]
    public void No_cookie_header_means_absent()
    {
        Assert.Equal(CookieLookup.Absent, Find("user_id").Lookup);
    }

    [Fact]
    public void Same_cookie_with_different_values_is_ambiguous()
    {
        Assert.Equal(CookieLookup.Ambiguous, Find("user_id", "user_id=1; user_id=2").Lookup);
        Assert.Equal(CookieLookup.Ambiguous, Find("user_id", "user_id=1", "user_id=2").Lookup);
    }

    [Fact]
    public void Same_cookie_repeated_with_the_same_value_is_found()
    {
        Assert.Equal((CookieLookup.Found, "1"), Find("user_id", "user_id=1", "user_id=1"));
    }

    // Headers that some framework reads otherwise than "name=value; name=value": Python's http.cookies reads
    // user_id=admin from the first two, ASP.NET Core reads names ignoring case, quoting and escaping rules differ.
    [Theory]
    [InlineData("a=1 user_id=admin")]
    [InlineData("a=1, user_id=admin")]
    [InlineData("a=1,user_id=admin")]
    [InlineData("user_id=\"admin\"")]
    [InlineData("a=\"x; user_id=admin\"")]
    [InlineData("user_id=ad\\min")]
    [InlineData("USER_ID=admin")]
    [InlineData("User_Id=admin; user_id=member")]
    [InlineData("flag; user_id=42")]
    [InlineData("user_id")]
    [InlineData("user_id = admin")]
    [InlineData("=admin")]
    [InlineData("a b=1; user_id=42")]
    [InlineData("user_id=caf\u00e9")]
    [InlineData("user_id=a\u0001b")]
    public void A_header_that_is_not_plain_is_ambiguous(string header)
    {
        Assert.Equal(CookieLookup.Ambiguous, Find("user_id", header).Lookup);
    }

    [Fact]
    public void A_bad_pair_on_another_line_makes_the_request_ambiguous()
    {
        Assert.Equal(CookieLookup.Ambiguous, Find("user_id", "user_id=member", "a=1 user_id=admin").Lookup);
    }
}
