using System.Net.Sockets;
using System.Text;

namespace Porter.Integration.Tests.Infrastructure;

/// <summary>Sends bytes exactly as given (HttpClient would normalise paths and headers) and reads the reply.</summary>
public static class RawHttp
{
    public static async Task<string> SendAsync(int port, string request, TimeSpan? timeout = null)
    {
        using var client = new TcpClient();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        await client.ConnectAsync("127.0.0.1", port, cts.Token);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.Latin1.GetBytes(request), cts.Token);
        var buffer = new MemoryStream();
        var chunk = new byte[8192];
        try
        {
            int read;
            while ((read = await stream.ReadAsync(chunk, cts.Token)) > 0)
            {
                buffer.Write(chunk, 0, read);
                // Enough to judge the status line and headers; the server may keep the connection open.
                if (buffer.Length > 0 && Encoding.Latin1.GetString(buffer.ToArray()).Contains("\r\n\r\n")) break;
            }
        }
        catch (IOException) { }
        return Encoding.Latin1.GetString(buffer.ToArray());
    }

    /// <summary>
    /// Sends the bytes (in parts, with <paramref name="pause"/> between them, when there are several) and reads until
    /// the server closes the connection or <paramref name="timeout"/> ends: whole responses, several when pipelined.
    /// </summary>
    public static async Task<string> ExchangeAsync(int port, IReadOnlyList<string> parts, TimeSpan? timeout = null, TimeSpan? pause = null,
        string address = "127.0.0.1")
    {
        using var client = new TcpClient();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        await client.ConnectAsync(address, port, cts.Token);
        var stream = client.GetStream();
        var buffer = new MemoryStream();
        var reading = Task.Run(async () =>
        {
            var chunk = new byte[65536];
            try
            {
                int read;
                while ((read = await stream.ReadAsync(chunk, cts.Token)) > 0) buffer.Write(chunk, 0, read);
            }
            catch (Exception e) when (e is IOException or OperationCanceledException) { }
        });
        for (var i = 0; i < parts.Count; i++)
        {
            if (i > 0 && pause is { } wait) await Task.Delay(wait, cts.Token);
            try
            {
                await stream.WriteAsync(Encoding.Latin1.GetBytes(parts[i]), cts.Token);
            }
            catch (IOException)
            {
                break; // the server answered and closed before everything was sent
            }
        }
        await reading;
        return Encoding.Latin1.GetString(buffer.ToArray());
    }

    /// <inheritdoc cref="ExchangeAsync(int, IReadOnlyList{string}, TimeSpan?, TimeSpan?, string)"/>
    public static Task<string> ExchangeAsync(int port, string request, TimeSpan? timeout = null) => ExchangeAsync(port, [request], timeout);

    /// <summary>The body of a response read by <see cref="ExchangeAsync(int, string, TimeSpan?)"/> (after the blank line).</summary>
    public static string BodyOf(string response) => response[(response.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];

    /// <summary>
    /// Sends a request written one byte per char (Latin-1, so bytes 0x80-0xFF can be written) and reads every byte
    /// until the server closes the connection (send <c>Connection: close</c>).
    /// </summary>
    public static async Task<byte[]> ExchangeAsync(string address, int port, string latin1Request, TimeSpan? timeout = null)
    {
        using var client = new TcpClient();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        await client.ConnectAsync(address, port, cts.Token);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.Latin1.GetBytes(latin1Request), cts.Token);
        var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer, cts.Token);
        return buffer.ToArray();
    }

    /// <summary>Whether <paramref name="response"/> holds the bytes of <paramref name="latin1"/> (one byte per char).</summary>
    public static bool Contains(byte[] response, string latin1) => response.AsSpan().IndexOf(Encoding.Latin1.GetBytes(latin1)) >= 0;

    /// <summary>The body after the header block, as UTF-8 text.</summary>
    public static string BodyOf(byte[] response)
    {
        int end = response.AsSpan().IndexOf("\r\n\r\n"u8);
        return end < 0 ? "" : Encoding.UTF8.GetString(response.AsSpan(end + 4));
    }

    public static int StatusOf(byte[] response) => StatusOf(Encoding.Latin1.GetString(response));

    public static int StatusOf(string response) =>
        int.Parse(response.Split(' ', 3)[1], System.Globalization.CultureInfo.InvariantCulture);
}
