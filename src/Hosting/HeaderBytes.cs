using System.Text;

namespace Porter.Hosting;

/// <summary>How header values become strings and back on every HTTP hop Porter serves or makes.</summary>
/// <remarks>
/// Field values are bytes: RFC 9110 §5.5 allows obs-text (0x80-0xFF) besides visible ASCII, and apps and clients send
/// UTF-8 too. Read and written as Latin-1, one char per byte, a value crosses every hop (client, Kestrel, YARP, the
/// app, the cache, and back) as the very same bytes. The defaults are narrower: Kestrel refuses to write a non-ASCII
/// response value and reads request values as UTF-8, and SocketsHttpHandler refuses to send a non-ASCII request
/// value, so one 0xE9 in an app's ETag used to be a 502.
/// </remarks>
public static class HeaderBytes
{
    public static Encoding Encoding => Encoding.Latin1;
}
