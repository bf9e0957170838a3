using System.Net;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Porter.Integration.Tests.Infrastructure;

namespace Porter.Integration.Tests.RequestPath;

/// <summary>The request path gateway → dispatcher → app process, through a real porter node and a real app.</summary>
public sealed class ForwardingTests(TestAppFixture fixture) : IClassFixture<TestAppFixture>
{
    private HttpClient Client => fixture.Porter.Client;

    private async Task<JsonElement> EchoAsync(HttpRequestMessage request)
    {
        using var response = await Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
    }

    private static string? Header(JsonElement echo, string name) =>
        echo.GetProperty("headers").TryGetProperty(name.ToLowerInvariant(), out var v) ? v.GetString() : null;

    [Fact]
    public async Task Sets_forwarded_headers_and_drops_client_supplied_ones()
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/echo-request");
        request.Headers.Host = "shop.example:8080";
        request.Headers.Add("X-Forwarded-For", "6.6.6.6");
        request.Headers.Add("X-Forwarded-Host", "evil.example");
        request.Headers.Add("X-Forwarded-Proto", "https");
        var echo = await EchoAsync(request);
        Assert.Equal("127.0.0.1", Header(echo, "X-Forwarded-For"));
        Assert.Equal("http", Header(echo, "X-Forwarded-Proto"));
        Assert.Equal("shop.example:8080", Header(echo, "X-Forwarded-Host"));
        Assert.Equal("shop.example:8080", Header(echo, "Host"));
    }

    [Fact]
    public async Task Removes_hop_by_hop_headers()
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/echo-request");
        request.Headers.Connection.Add("X-Secret-Hop");
        request.Headers.Add("X-Secret-Hop", "1");
        request.Headers.Add("Keep-Alive", "timeout=5");
        request.Headers.Add("Proxy-Authorization", "Basic Zm9vOmJhcg==");
        request.Headers.Add("X-End-To-End", "kept");
        var echo = await EchoAsync(request);
        Assert.Null(Header(echo, "X-Secret-Hop"));
        Assert.Null(Header(echo, "Keep-Alive"));
        Assert.Null(Header(echo, "Proxy-Authorization"));
        Assert.Equal("kept", Header(echo, "X-End-To-End"));
    }

    [Fact]
    public async Task Porter_private_response_headers_never_reach_the_client()
    {
        using var response = await Client.GetAsync("/headers?h=X-Porter-Request-OOB-Work:true&h=X-Visible:yes&body=ok");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(response.Headers.Contains("X-Porter-Request-OOB-Work"));
        Assert.Equal("yes", response.Headers.GetValues("X-Visible").Single());
    }

    [Fact]
    public async Task Streams_a_50_MB_upload_without_buffering_it()
    {
        const int size = 50 * 1024 * 1024;
        var before = PorterProcess.PeakRss(fixture.Porter.Pid);
        using var sha = SHA256.Create();
        var content = new StreamContent(new PatternStream(size, sha));
        content.Headers.ContentLength = size;
        using var response = await Client.PostAsync("/upload", content);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var result = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(size, result.GetProperty("bytes").GetInt64());
        Assert.Equal(Convert.ToHexStringLower(sha.Hash!), result.GetProperty("sha256").GetString());
        var growth = PorterProcess.PeakRss(fixture.Porter.Pid) - before;
        Assert.True(growth < size / 2, $"porter's peak RSS grew by {growth / 1048576} MiB for a 50 MiB upload");
    }

    [Fact]
    public async Task Streams_a_50_MB_download_without_buffering_it()
    {
        const int mb = 50;
        var before = PorterProcess.PeakRss(fixture.Porter.Pid);
        // X-Accel-Buffering: no asks Porter to stream the answer instead of buffering it (ResponseBufferTests: buffered ones).
        using var response = await Client.GetAsync($"/download?mb={mb}&h=X-Accel-Buffering:no", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(response.Headers.Contains("X-Accel-Buffering"));
        await using var body = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[81920];
        long total = 0;
        var mismatch = -1L;
        int read;
        while ((read = await body.ReadAsync(buffer)) > 0)
        {
            for (var i = 0; i < read && mismatch < 0; i++)
                if (buffer[i] != (byte)((total + i) % 251)) mismatch = total + i;
            total += read;
        }
        Assert.Equal(mb * 1024L * 1024, total);
        Assert.Equal(-1, mismatch);
        var growth = PorterProcess.PeakRss(fixture.Porter.Pid) - before;
        Assert.True(growth < mb * 1024L * 1024 / 2, $"porter's peak RSS grew by {growth / 1048576} MiB for a 50 MiB download");
    }

    [Fact]
    public async Task Passes_websocket_upgrades_through()
    {
        using var socket = new ClientWebSocket();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{fixture.Porter.Port}/ws"), cts.Token);
        foreach (var text in new[] { "hello", "porter" })
        {
            await socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, cts.Token);
            var buffer = new byte[1024];
            var received = await socket.ReceiveAsync(buffer, cts.Token);
            Assert.Equal(text, Encoding.UTF8.GetString(buffer, 0, received.Count));
        }
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", cts.Token);
    }

    [Fact]
    public async Task Path_traversal_never_serves_a_file_outside_public()
    {
        foreach (var path in new[] { "/../../../../etc/passwd", "/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/..%2f..%2f..%2fetc/passwd",
                     "/public/..%5c..%5cetc/passwd", "/%252e%252e/etc/passwd", "/hello.txt/../../../../etc/passwd" })
        {
            var response = await RawHttp.SendAsync(fixture.Porter.Port, $"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
            Assert.Contains(RawHttp.StatusOf(response), new[] { 400, 404 });
            Assert.DoesNotContain("root:", response);
        }
    }

    [Fact]
    public async Task Malformed_requests_get_400_and_the_server_keeps_serving()
    {
        var garbage = await RawHttp.SendAsync(fixture.Porter.Port, "GARBAGE\r\n\r\n");
        Assert.Equal(400, RawHttp.StatusOf(garbage));
        var badHeader = await RawHttp.SendAsync(fixture.Porter.Port, "GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n");
        Assert.Equal(400, RawHttp.StatusOf(badHeader));
        using var ok = await Client.GetAsync("/pid");
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }

    [Fact]
    public async Task Request_body_over_the_limit_is_refused_with_413()
    {
        var response = await RawHttp.SendAsync(fixture.Porter.Port,
            "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000000000\r\nConnection: close\r\n\r\n");
        Assert.Equal(413, RawHttp.StatusOf(response));
    }

    /// <summary>A read-only stream of a repeating byte pattern that hashes what it hands out.</summary>
    private sealed class PatternStream(long length, HashAlgorithm hash) : Stream
    {
        private long _position;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => length;
        public override long Position { get => _position; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = (int)Math.Min(count, length - _position);
            for (var i = 0; i < n; i++) buffer[offset + i] = (byte)((_position + i) % 251);
            _position += n;
            if (n > 0) hash.TransformBlock(buffer, offset, n, null, 0);
            else hash.TransformFinalBlock([], 0, 0);
            return n;
        }
    }
}
