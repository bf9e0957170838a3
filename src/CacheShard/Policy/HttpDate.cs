using System.Globalization;
using Microsoft.Extensions.Primitives;

namespace Porter.CacheShard.Policy;

/// <summary>HTTP-date (RFC 9110 §5.6.7): the one parser for every date the cache reads (Date, Expires, Last-Modified, If-Modified-Since).</summary>
/// <remarks>
/// Strict on structure: IMF-fixdate exactly (one space between parts, two-digit day, four-digit year, two-digit
/// hour, "GMT"), plus the two obsolete formats recipients must accept: rfc850-date (its two-digit year read as at most
/// 50 years ahead) and asctime-date (day padded with a space). Anything else is no date, so that callers can apply the
/// RFC's rule for invalid values (an invalid Expires means already expired, RFC 9111 §5.3). Day and month names and
/// "GMT" are matched ignoring case: a different case cannot make the value mean another instant. The day name is
/// checked to be a day name, not to agree with the date. Allocation-free.
/// </remarks>
internal static class HttpDate
{
    private static readonly string[] Days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    private static readonly string[] LongDays = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
    private static readonly string[] Months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

    /// <summary>Parses one HTTP-date; surrounding whitespace (never part of a field value) is ignored.</summary>
    public static bool TryParse(ReadOnlySpan<char> value, out DateTimeOffset date) => TryParse(value, DateTime.UtcNow.Year, out date);

    /// <summary>Parses a single-valued date header; several field lines or an invalid value yield false.</summary>
    public static bool TryParse(StringValues values, out DateTimeOffset date)
    {
        date = default;
        return values.Count == 1 && values[0] is { } text && TryParse(text.AsSpan(), out date);
    }

    /// <param name="currentYear">The year an rfc850-date's two-digit year is read against.</param>
    internal static bool TryParse(ReadOnlySpan<char> value, int currentYear, out DateTimeOffset date)
    {
        date = default;
        var s = value.Trim(" \t");
        if (s.Length == 29 && s[3] == ',')
            return TryImfFixdate(s, out date);
        if (s.Length == 24 && s[3] == ' ')
            return TryAsctime(s, out date);
        int comma = s.IndexOf(',');
        return comma > 0 && s.Length == comma + 24 && TryRfc850(s, comma, currentYear, out date);
    }

    public static string Format(DateTimeOffset date) => date.UtcDateTime.ToString("r", CultureInfo.InvariantCulture);

    // "Sun, 06 Nov 1994 08:49:37 GMT"
    private static bool TryImfFixdate(ReadOnlySpan<char> s, out DateTimeOffset date)
    {
        date = default;
        return IsName(s[..3], Days) && s[4] == ' ' && TwoDigits(s[5..7], out int day) && s[7] == ' '
            && Month(s[8..11], out int month) && s[11] == ' ' && FourDigits(s[12..16], out int year)
            && s[16] == ' ' && Time(s[17..25], out int hour, out int minute, out int second)
            && GmtSuffix(s[25..]) && Build(year, month, day, hour, minute, second, out date);
    }

    // "Sunday, 06-Nov-94 08:49:37 GMT" (23 characters after the comma)
    private static bool TryRfc850(ReadOnlySpan<char> s, int comma, int currentYear, out DateTimeOffset date)
    {
        date = default;
        var rest = s[(comma + 1)..];
        if (!IsName(s[..comma], LongDays) || rest[0] != ' ' || !TwoDigits(rest[1..3], out int day) || rest[3] != '-'
            || !Month(rest[4..7], out int month) || rest[7] != '-' || !TwoDigits(rest[8..10], out int twoDigitYear)
            || rest[10] != ' ' || !Time(rest[11..19], out int hour, out int minute, out int second) || !GmtSuffix(rest[19..]))
            return false;
        // RFC 9110 §5.6.7: a year that appears more than 50 years ahead is the most recent past year with those digits.
        int year = currentYear / 100 * 100 + twoDigitYear;
        if (year > currentYear + 50)
            year -= 100;
        return Build(year, month, day, hour, minute, second, out date);
    }

    // "Sun Nov  6 08:49:37 1994"
    private static bool TryAsctime(ReadOnlySpan<char> s, out DateTimeOffset date)
    {
        date = default;
        return IsName(s[..3], Days) && Month(s[4..7], out int month) && s[7] == ' ' && PaddedDay(s[8..10], out int day) && s[10] == ' '
            && Time(s[11..19], out int hour, out int minute, out int second) && s[19] == ' '
            && FourDigits(s[20..24], out int year) && Build(year, month, day, hour, minute, second, out date);
    }

    private static bool IsName(ReadOnlySpan<char> s, string[] names)
    {
        foreach (var name in names)
        {
            if (s.Equals(name, StringComparison.OrdinalIgnoreCase))
                return true;
        }
        return false;
    }

    private static bool Month(ReadOnlySpan<char> s, out int month)
    {
        for (month = 1; month <= 12; month++)
        {
            if (s.Equals(Months[month - 1], StringComparison.OrdinalIgnoreCase))
                return true;
        }
        return false;
    }

    private static bool GmtSuffix(ReadOnlySpan<char> s) => s.Length == 4 && s[0] == ' ' && s[1..].Equals("GMT", StringComparison.OrdinalIgnoreCase);

    // "08:49:37"; second 60 is a leap second (RFC 9110 §5.6.7).
    private static bool Time(ReadOnlySpan<char> s, out int hour, out int minute, out int second)
    {
        minute = second = 0;
        return TwoDigits(s[..2], out hour) && s[2] == ':' && TwoDigits(s[3..5], out minute) && s[5] == ':'
            && TwoDigits(s[6..8], out second) && hour <= 23 && minute <= 59 && second <= 60;
    }

    private static bool PaddedDay(ReadOnlySpan<char> s, out int day)
    {
        if (s[0] != ' ')
            return TwoDigits(s, out day);
        day = s[1] - '0';
        return char.IsAsciiDigit(s[1]);
    }

    private static bool TwoDigits(ReadOnlySpan<char> s, out int value)
    {
        value = 0;
        if (!char.IsAsciiDigit(s[0]) || !char.IsAsciiDigit(s[1]))
            return false;
        value = (s[0] - '0') * 10 + (s[1] - '0');
        return true;
    }

    private static bool FourDigits(ReadOnlySpan<char> s, out int value)
    {
        value = 0;
        if (!TwoDigits(s[..2], out int high) || !TwoDigits(s[2..], out int low))
            return false;
        value = high * 100 + low;
        return true;
    }

    private static bool Build(int year, int month, int day, int hour, int minute, int second, out DateTimeOffset date)
    {
        date = default;
        if (year < 1 || day < 1 || day > DateTime.DaysInMonth(year, month))
            return false;
        // A leap second is read as the second before it: DateTimeOffset has no 60th second.
        date = new DateTimeOffset(year, month, day, hour, minute, Math.Min(second, 59), TimeSpan.Zero);
        return true;
    }
}
