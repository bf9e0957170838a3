using System.Net;
using System.Net.Sockets;
using System.Text;
using Porter.Integration.Tests.Infrastructure;

namespace Porter.Integration.Tests.Edge;

/// <summary>
/// One porter node whose app takes one request at a time in one process (concurrency 1, max-instances 1), as a
/// Python app does, with 4 MiB of memory for all response buffers together (more spills to files).
/// </summary>
public sealed class ResponseBufferFixture : IAsyncLifetime
{
    public const long MemoryTotal = 4L << 20;

    public PorterProcess Porter { get; private set; } = null!;

    public async Task InitializeAsync() =>
        Porter = await PorterProcess.StartAsync([Repo.TestApp, "--disable-turbocaching", "--concurrency", "1", "--max-instances", "1",
            "--response-buffer-memory-total", MemoryTotal.ToString(System.Globalization.CultureInfo.InvariantCulture)]);

    public async Task DisposeAsync() => await Porter.DisposeAsync();
}

/// <summary>Response and request body buffering: slow clients never hold the app's process; streams the app controls stay streams.</summary>
public sealed class ResponseBufferTests(ResponseBufferFixture fixture) : IClassFixture<ResponseBufferFixture>
{
    private PorterProcess Porter => fixture.Porter;

    [Fact]
    public async Task A_client_reading_a_10_MB_answer_byte_by_byte_leaves_the_process_free_for_50_other_requests()
    {
        const long size = 10L << 20;
        await using var slow = await SlowClient.OpenAsync(Porter.Port, "/download?mb=10");
        using var stopReading = new CancellationTokenSource();
        // One byte every 100 ms while the others are served.
        var trickle = Task.Run(async () =>
        {
            while (!stopReading.IsCancellationRequested)
            {
                await slow.ReadBytesAsync(1);
                await Task.Delay(100);
            }
        });

        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        for (var i = 0; i < 50; i++)
        {
            using var response = await Porter.Client.GetAsync($"/headers?body=other-{i}", bound.Token);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal($"other-{i}", await response.Content.ReadAsStringAsync(bound.Token));
        }
        // 10 MiB does not fit the node's 4 MiB of buffer memory: the rest waits in a temporary file, unlinked at once.
        Assert.Contains(BufferFiles(Porter), link => link.EndsWith("(deleted)", StringComparison.Ordinal));
        await stopReading.CancelAsync();
        await trickle;

        await slow.ReadHeadersAsync();
        Assert.StartsWith("HTTP/1.1 200", slow.Headers);
        Assert.Contains($"Content-Length: {size}", slow.Headers);
        await slow.ReadPatternBodyAsync(size);
    }

    [Fact]
    public async Task Twenty_slow_clients_on_10_MB_answers_spill_to_disk_and_keep_memory_bounded()
    {
        const int clients = 20;
        const long size = 10L << 20;
        var before = PorterProcess.Rss(Porter.Pid);
        var slow = new List<SlowClient>();
        try
        {
            for (var i = 0; i < clients; i++) slow.Add(await SlowClient.OpenAsync(Porter.Port, $"/download?mb=10&n={i}"));
            // A client's first byte comes once the app has sent its whole answer to the buffer (one at a time: concurrency 1).
            foreach (var client in slow) await client.ReadBytesAsync(1);
            var growth = PorterProcess.Rss(Porter.Pid) - before;
            Assert.True(growth < 100L << 20, $"porter's RSS grew by {growth >> 20} MiB with {clients} x 10 MiB answers buffered");
            Assert.True(BufferFiles(Porter).Count >= clients / 2, $"buffer files open: {BufferFiles(Porter).Count}");
            foreach (var client in slow)
            {
                await client.ReadHeadersAsync();
                await client.ReadPatternBodyAsync(size);
            }
        }
        finally
        {
            foreach (var client in slow) await client.DisposeAsync();
        }
        await Poll.UntilAsync(() => BufferFiles(Porter).Count == 0, TimeSpan.FromSeconds(30), "the buffer files to be closed");
    }

    [Theory]
    [InlineData("type=text/event-stream")]
    [InlineData("h=X-Accel-Buffering:no")]
    public async Task Event_streams_and_answers_that_ask_for_it_arrive_piece_by_piece(string query)
    {
        // Two pieces a minute apart: a buffered answer would show its first piece only after that minute.
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = Porter.Client.BaseAddress };
        using var response = await client.GetAsync($"/stream?chunks=2&ms=60000&{query}", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(response.Headers.Contains("X-Accel-Buffering"));
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await using var body = await response.Content.ReadAsStreamAsync(bound.Token);
        var first = await new StreamReader(body).ReadLineAsync(bound.Token);
        Assert.StartsWith("chunk 0", first);
    }

    [Fact]
    public async Task A_slow_upload_leaves_the_process_free_until_its_body_is_complete()
    {
        const int size = 10 << 20;
        var body = new byte[size];
        for (var i = 0; i < size; i++) body[i] = (byte)(i % 251);
        using var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", Porter.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"POST /upload HTTP/1.1\r\nHost: upload.example\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n"));
        await stream.WriteAsync(body.AsMemory(0, 1 << 20));

        // The upload is a tenth there; the one process serves others meanwhile.
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        for (var i = 0; i < 20; i++)
        {
            using var response = await Porter.Client.GetAsync($"/headers?body=meanwhile-{i}", bound.Token);
            Assert.Equal($"meanwhile-{i}", await response.Content.ReadAsStringAsync(bound.Token));
        }

        await stream.WriteAsync(body.AsMemory(1 << 20));
        using var reader = new StreamReader(stream);
        var answer = await reader.ReadToEndAsync(bound.Token);
        Assert.StartsWith("HTTP/1.1 200", answer);
        Assert.Contains($"\"bytes\":{size}", answer);
        Assert.Contains(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(body)), answer);
    }

    [Fact]
    public async Task A_buffered_chunked_upload_reaches_the_app_with_a_content_length()
    {
        using var content = new StreamContent(new MemoryStream(new byte[100_000]));
        using var request = new HttpRequestMessage(HttpMethod.Post, "/echo-request") { Content = content };
        request.Headers.TransferEncodingChunked = true;
        using var response = await Porter.Client.SendAsync(request);
        var echo = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(100_000, echo.GetProperty("bodyBytes").GetInt32());
        Assert.Equal("100000", echo.GetProperty("headers").GetProperty("content-length").GetString());
        Assert.False(echo.GetProperty("headers").TryGetProperty("transfer-encoding", out _));
    }

    [Fact]
    public async Task An_app_with_buffering_turned_off_streams_both_ways()
    {
        await using var porter = await PorterProcess.StartAsync([Repo.TestApp, "--disable-turbocaching", "--concurrency", "1",
            "--disable-response-buffering", "--disable-request-buffering"]);
        using var response = await porter.Client.GetAsync("/stream?chunks=2&ms=60000", HttpCompletionOption.ResponseHeadersRead);
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await using var body = await response.Content.ReadAsStreamAsync(bound.Token);
        Assert.StartsWith("chunk 0", await new StreamReader(body).ReadLineAsync(bound.Token));

        // The chunked upload reaches the app as it was sent.
        using var content = new StreamContent(new MemoryStream(new byte[1000]));
        using var upload = new HttpRequestMessage(HttpMethod.Post, "/echo-request") { Content = content };
        upload.Headers.TransferEncodingChunked = true;
        using var echoed = await porter.Client.SendAsync(upload);
        var echo = System.Text.Json.JsonDocument.Parse(await echoed.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("chunked", echo.GetProperty("headers").GetProperty("transfer-encoding").GetString());
    }

    /// <summary>The response buffer files porter has open (links of /proc/PID/fd into its data dir's response-buffers).</summary>
    private static List<string> BufferFiles(PorterProcess porter)
    {
        var links = new List<string>();
        foreach (var fd in Directory.EnumerateFileSystemEntries($"/proc/{porter.Pid}/fd"))
        {
            try
            {
                if (new FileInfo(fd).LinkTarget is { } target && target.Contains("/response-buffers/", StringComparison.Ordinal)) links.Add(target);
            }
            catch (IOException) { }
        }
        return links;
    }

    /// <summary>A raw HTTP/1.1 client with a small receive buffer that reads as slowly as the test likes.</summary>
    private sealed class SlowClient : IAsyncDisposable
    {
        private readonly TcpClient _tcp;
        private readonly NetworkStream _stream;
        private readonly MemoryStream _received = new();
        private long _bodyStart = -1;

        private SlowClient(TcpClient tcp)
        {
            _tcp = tcp;
            _stream = tcp.GetStream();
        }

        public string Headers { get; private set; } = "";

        public static async Task<SlowClient> OpenAsync(int port, string path)
        {
            var tcp = new TcpClient { ReceiveBufferSize = 4096 };
            await tcp.ConnectAsync("127.0.0.1", port);
            var client = new SlowClient(tcp);
            await client._stream.WriteAsync(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: slow.example\r\n\r\n"));
            return client;
        }

        public async Task ReadBytesAsync(int count)
        {
            using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            var buffer = new byte[count];
            var read = await _stream.ReadAsync(buffer, bound.Token);
            if (read == 0) throw new IOException("the server closed the connection");
            _received.Write(buffer, 0, read);
        }

        public async Task ReadHeadersAsync()
        {
            while (_bodyStart < 0)
            {
                var text = Encoding.Latin1.GetString(_received.ToArray());
                var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
                if (end >= 0)
                {
                    Headers = text[..end];
                    _bodyStart = end + 4;
                    return;
                }
                await ReadBytesAsync(4096);
            }
        }

        /// <summary>Reads the rest of a body of <paramref name="size"/> bytes and checks every byte is i % 251.</summary>
        public async Task ReadPatternBodyAsync(long size)
        {
            var already = _received.ToArray().AsSpan((int)_bodyStart);
            for (var i = 0; i < already.Length; i++) Assert.Equal((byte)(i % 251), already[i]);
            long total = already.Length;
            var buffer = new byte[65536];
            using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(120));
            while (total < size)
            {
                var read = await _stream.ReadAsync(buffer, bound.Token);
                Assert.True(read > 0, $"the body ended after {total} of {size} bytes");
                for (var i = 0; i < read; i++)
                    if (buffer[i] != (byte)((total + i) % 251)) Assert.Fail($"byte {total + i} is {buffer[i]}, not {(total + i) % 251}");
                total += read;
            }
            Assert.Equal(size, total);
        }

        public ValueTask DisposeAsync()
        {
            _tcp.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
