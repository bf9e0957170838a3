using System.Globalization;

namespace Porter.CacheShard.Policy;

/// <summary>HTTP-date parsing and formatting (RFC 9110 §5.6.7): recipients must accept all three historical formats.</summary>
internal static class HttpDate
{
    private static readonly string[] Formats =
    [
        "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'", // IMF-fixdate
        "dddd, dd'-'MMM'-'yy HH':'mm':'ss 'GMT'", // obsolete RFC 850
        "ddd MMM d HH':'mm':'ss yyyy", // obsolete asctime (day padded with a space)
    ];

    public static bool TryParse(ReadOnlySpan<char> value, out DateTimeOffset date) =>
        DateTimeOffset.TryParseExact(value.Trim(" \t"), Formats, CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal | DateTimeStyles.AllowInnerWhite, out date);

    /// <summary>Parses a single-valued date header; several lines or an invalid value yield false.</summary>
    public static bool TryParse(Microsoft.Extensions.Primitives.StringValues values, out DateTimeOffset date)
    {
        date = default;
        return values.Count == 1 && values[0] is { } text && TryParse(text.AsSpan(), out date);
    }

    public static string Format(DateTimeOffset date) => date.UtcDateTime.ToString("r", CultureInfo.InvariantCulture);
}
