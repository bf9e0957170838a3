using Porter.CacheShard.Policy;

namespace Porter.CacheShard.Tests.Policy;

public sealed class HttpDateTests
{
    private static readonly DateTimeOffset Sunday = new(1994, 11, 6, 8, 49, 37, TimeSpan.Zero);

    [Theory]
    [InlineData("Sun, 06 Nov 1994 08:49:37 GMT")]
    [InlineData("Sunday, 06-Nov-94 08:49:37 GMT")]
    [InlineData("Sun Nov  6 08:49:37 1994")]
    [InlineData("  Sun, 06 Nov 1994 08:49:37 GMT\t")]
    [InlineData("SUN, 06 NOV 1994 08:49:37 gmt")] // names and the zone in any case
    [InlineData("sunday, 06-nov-94 08:49:37 Gmt")]
    [InlineData("sun nov  6 08:49:37 1994")]
    public void Accepts_all_three_http_date_formats(string date)
    {
        Assert.True(HttpDate.TryParse(date, 2026, out var parsed));
        Assert.Equal(Sunday, parsed);
    }

    [Fact]
    public void The_day_name_need_not_agree_with_the_date()
    {
        // 8 August 2050 is a Monday; the instant is still clear.
        Assert.True(HttpDate.TryParse("Thu Aug  8 02:01:18 2050", 2026, out var parsed));
        Assert.Equal(new DateTimeOffset(2050, 8, 8, 2, 1, 18, TimeSpan.Zero), parsed);
    }

    [Theory]
    [InlineData("Thu,  01 Dec 1994 16:00:00 GMT")] // the reproduction: two spaces
    [InlineData("Thu, 18  Aug  2050 02:01:18 GMT")]
    [InlineData("Thu, 18 Aug 2050  02:01:18 GMT")]
    [InlineData("Thu, 18 Aug 2050 02:01:18 UTC")]
    [InlineData("Thu, 18 Aug 2050 02:01:18 AEST")]
    [InlineData("Thu, 18 Aug 2050 02:01:18 +0000")]
    [InlineData("Thu, 18 Aug 50 02:01:18 GMT")]
    [InlineData("Thu 18 Aug 2050 02:01:18 GMT")]
    [InlineData("Thu, 18-Aug-2050 02:01:18 GMT")]
    [InlineData("Thu, 18 Aug 2050 02.01.18 GMT")]
    [InlineData("Thu, 18 Aug 2050 2:01:18 GMT")]
    [InlineData("Thu, 8 Aug 2050 02:01:18 GMT")]
    [InlineData("Thu, 18 Aug 2050 24:00:00 GMT")]
    [InlineData("Thu, 18 Aug 2050 23:60:00 GMT")]
    [InlineData("Thu, 30 Feb 2050 02:01:18 GMT")]
    [InlineData("Xyz, 18 Aug 2050 02:01:18 GMT")]
    [InlineData("Thu, 18 Aux 2050 02:01:18 GMT")]
    [InlineData("Thu, 18 Aug 2050 02:01:18 GMT, Fri, 19 Aug 2050 02:01:18 GMT")]
    [InlineData("Thursday, 18-Aug-2050 02:01:18 GMT")]
    [InlineData("Thu, 18-Aug-50 02:01:18 GMT")]
    [InlineData("Thu Aug 8 02:01:18 2050")]
    [InlineData("Thu Aug  8 02:01:18 50")]
    [InlineData("Thu, 18 Aug 2050 02:01:18 GMT x")]
    [InlineData("Thu, ٠١ Aug 2050 02:01:18 GMT")] // non-ASCII digits
    [InlineData("0")]
    [InlineData("")]
    public void Anything_else_is_no_date(string value)
    {
        Assert.False(HttpDate.TryParse(value, 2026, out _));
    }

    [Theory]
    [InlineData(50, 2050)]
    [InlineData(76, 2076)] // exactly 50 years ahead: still ahead
    [InlineData(77, 1977)] // more than 50 years ahead: the past year with those digits
    [InlineData(94, 1994)]
    [InlineData(0, 2000)]
    [InlineData(26, 2026)]
    public void An_rfc850_year_is_read_as_at_most_50_years_ahead(int twoDigits, int year)
    {
        Assert.True(HttpDate.TryParse($"Monday, 01-Jan-{twoDigits:00} 00:00:00 GMT", 2026, out var parsed));
        Assert.Equal(year, parsed.Year);
    }

    [Fact]
    public void A_leap_second_is_accepted()
    {
        Assert.True(HttpDate.TryParse("Sat, 31 Dec 2016 23:59:60 GMT", 2026, out var parsed));
        Assert.Equal(new DateTimeOffset(2016, 12, 31, 23, 59, 59, TimeSpan.Zero), parsed);
    }

    [Fact]
    public void A_header_with_several_lines_is_no_date()
    {
        var line = "Sun, 06 Nov 1994 08:49:37 GMT";
        Assert.True(HttpDate.TryParse(new Microsoft.Extensions.Primitives.StringValues(line), out _));
        Assert.False(HttpDate.TryParse(new Microsoft.Extensions.Primitives.StringValues([line, line]), out _));
    }

    [Fact]
    public void Format_writes_imf_fixdate_that_parses_back()
    {
        var text = HttpDate.Format(Sunday);
        Assert.Equal("Sun, 06 Nov 1994 08:49:37 GMT", text);
        Assert.True(HttpDate.TryParse(text, out var parsed));
        Assert.Equal(Sunday, parsed);
    }
}
