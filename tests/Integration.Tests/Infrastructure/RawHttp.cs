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

    public static int StatusOf(string response) =>
        int.Parse(response.Split(' ', 3)[1], System.Globalization.CultureInfo.InvariantCulture);
}
