using System.Text;

namespace Porter.Hosting.Edge;

/// <summary>
/// Kestrel's request-header decoding (<see cref="Selector"/>): <see cref="HeaderBytes"/> (one char per byte) for every
/// header, and for the Connection header a work-around for Kestrel itself: when a Connection value carries exactly one of keep-alive, close or upgrade, Kestrel replaces the whole
/// value with that token (HttpHeaders.ParseConnection interns it), so "keep-alive, X-Foo" reaches the pipeline as
/// "keep-alive" and nobody can tell that X-Foo is hop-by-hop. This decodes the value as Kestrel would (ASCII) and, when
/// it names other headers beside exactly one such option, changes it so Kestrel keeps it without changing what the
/// option means: "keep-alive" is added beside close (close still wins) or upgrade (HTTP/1.1's default anyway), and a
/// lone keep-alive is dropped (HTTP/1.1's default; only an HTTP/1.0 client notices, its connection then closes after
/// the response). The edge (HopByHopHeaders) then removes every header the value lists.
/// </summary>
public sealed class ConnectionHeaderEncoding : Encoding
{
    public static readonly ConnectionHeaderEncoding Instance = new();

    private const string KeepAlive = "keep-alive";

    /// <summary>For KestrelServerOptions.RequestHeaderEncodingSelector: this encoding for Connection, <see cref="HeaderBytes"/> for the rest.</summary>
    public static Encoding Selector(string headerName) =>
        headerName.Equals("Connection", StringComparison.OrdinalIgnoreCase) ? Instance : HeaderBytes.Encoding;

    /// <summary>The value Kestrel gets for a Connection header received as <paramref name="value"/>.</summary>
    public static string Rewrite(string value)
    {
        var tokens = value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var options = 0;
        string? option = null;
        foreach (var token in tokens)
        {
            if (!IsOption(token)) continue;
            options++;
            option = token;
        }
        // Nothing listed beside the options, or several options (Kestrel keeps those): nothing to protect.
        if (options != 1 || tokens.Length == 1) return value;
        return option!.Equals(KeepAlive, StringComparison.OrdinalIgnoreCase)
            ? string.Join(", ", tokens.Where(t => !t.Equals(KeepAlive, StringComparison.OrdinalIgnoreCase)))
            : value + ", " + KeepAlive;
    }

    private static bool IsOption(string token) =>
        token.Equals(KeepAlive, StringComparison.OrdinalIgnoreCase) || token.Equals("close", StringComparison.OrdinalIgnoreCase)
        || token.Equals("upgrade", StringComparison.OrdinalIgnoreCase);

    private static string Decode(ReadOnlySpan<byte> bytes)
    {
        // As Kestrel decodes every other header here (one char per byte), and as strict about NUL (it answers 400 to this).
        if (bytes.Contains((byte)0)) throw new DecoderFallbackException("Connection header values must not contain NUL");
        return Rewrite(HeaderBytes.Encoding.GetString(bytes));
    }

    public override string GetString(byte[] bytes, int index, int count) => Decode(bytes.AsSpan(index, count));

    public override int GetCharCount(byte[] bytes, int index, int count) => Decode(bytes.AsSpan(index, count)).Length;

    public override int GetCharCount(ReadOnlySpan<byte> bytes) => Decode(bytes).Length;

    public override int GetChars(byte[] bytes, int byteIndex, int byteCount, char[] chars, int charIndex) =>
        GetChars(bytes.AsSpan(byteIndex, byteCount), chars.AsSpan(charIndex));

    public override int GetChars(ReadOnlySpan<byte> bytes, Span<char> chars)
    {
        var text = Decode(bytes);
        text.CopyTo(chars);
        return text.Length;
    }

    // Encoding is never asked of a request header decoder; one byte per char keeps the type complete.
    public override int GetByteCount(char[] chars, int index, int count) => HeaderBytes.Encoding.GetByteCount(chars, index, count);

    public override int GetBytes(char[] chars, int charIndex, int charCount, byte[] bytes, int byteIndex) =>
        HeaderBytes.Encoding.GetBytes(chars, charIndex, charCount, bytes, byteIndex);

    public override int GetMaxByteCount(int charCount) => charCount;

    public override int GetMaxCharCount(int byteCount) => byteCount + KeepAlive.Length + 2;
}
