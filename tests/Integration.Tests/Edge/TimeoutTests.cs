using System.Net;
using System.Net.Sockets;
using System.Text;
using Porter.Integration.Tests.Infrastructure;

namespace Porter.Integration.Tests.Edge;

/// <summary>One porter node with short client timeouts and a 3 s max-request-time.</summary>
public sealed class TimeoutFixture : IAsyncLifetime
{
    public PorterProcess Porter { get; private set; } = null!;

    public async Task InitializeAsync() =>
        Porter = await PorterProcess.StartAsync([Repo.TestApp, "--disable-turbocaching", "--max-instances", "1",
            "--client-header-timeout", "2", "--keep-alive-timeout", "2", "--max-request-time", "3"]);

    public async Task DisposeAsync() => await Porter.DisposeAsync();
}

/// <summary>The timeouts an operator sets: client headers, idle keep-alive, and the app's max-request-time (504, the process replaced).</summary>
public sealed class TimeoutTests(TimeoutFixture fixture) : IClassFixture<TimeoutFixture>
{
    private PorterProcess Porter => fixture.Porter;

    /// <summary>Sends <paramref name="request"/> and reads until the server closes; fails if it has not within 20 s.</summary>
    private async Task<string> UntilServerClosesAsync(string request)
    {
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", Porter.Port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.Latin1.GetBytes(request));
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var received = new MemoryStream();
        var buffer = new byte[4096];
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer, bound.Token)) > 0) received.Write(buffer, 0, read);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"the connection was still open after 20 s; received: {Encoding.Latin1.GetString(received.ToArray())}");
        }
        catch (IOException)
        {
            // A reset is a close too.
        }
        return Encoding.Latin1.GetString(received.ToArray());
    }

    [Fact]
    public async Task A_client_that_never_finishes_its_headers_gets_408_and_is_closed()
    {
        var answer = await UntilServerClosesAsync("GET /pid HTTP/1.1\r\nHost: slow.example\r\nX-Still-Typing: ");
        Assert.StartsWith("HTTP/1.1 408", answer);
    }

    [Fact]
    public async Task An_idle_keep_alive_connection_is_closed_after_the_keep_alive_timeout()
    {
        var answer = await UntilServerClosesAsync("GET /pid HTTP/1.1\r\nHost: idle.example\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 200", answer);
    }

    [Fact]
    public async Task A_request_over_max_request_time_gets_504_and_its_process_is_replaced()
    {
        var hung = int.Parse(await Porter.Client.GetStringAsync("/pid"), System.Globalization.CultureInfo.InvariantCulture);

        using var response = await Porter.Client.GetAsync("/slow?ms=120000");
        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Contains("max request time", await response.Content.ReadAsStringAsync());

        await Poll.UntilAsync(() => !PorterProcess.IsAlive(hung), TimeSpan.FromSeconds(60), $"process {hung} to be ended");
        var successor = await Poll.UntilAsync(async () =>
        {
            using var answer = await Porter.Client.GetAsync("/pid");
            return answer.StatusCode == HttpStatusCode.OK ? await answer.Content.ReadAsStringAsync() : null;
        }, TimeSpan.FromSeconds(60), "a successor process");
        Assert.NotEqual(hung.ToString(System.Globalization.CultureInfo.InvariantCulture), successor);
        Assert.Contains("max-request-time", Porter.Output);
    }

    [Fact]
    public async Task A_streamed_answer_over_max_request_time_is_cut_off_never_passed_off_as_whole()
    {
        // 100 chunks 100 ms apart: 10 s, past the 3 s limit, streamed (a buffered answer would still be a 504). The client
        // sees the body end in an error, not a clean end.
        using var response = await Porter.Client.GetAsync("/stream?chunks=100&ms=100&h=X-Accel-Buffering:no", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await Assert.ThrowsAnyAsync<Exception>(async () => await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_buffered_answer_still_coming_at_max_request_time_is_a_504()
    {
        using var response = await Porter.Client.GetAsync("/stream?chunks=100&ms=100");
        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
    }

    [Fact]
    public async Task Requests_within_max_request_time_are_untouched()
    {
        using var response = await Porter.Client.GetAsync("/slow?ms=200");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("slept 200 ms", await response.Content.ReadAsStringAsync());
    }
}
