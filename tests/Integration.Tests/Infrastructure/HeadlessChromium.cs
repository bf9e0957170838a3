using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Porter.Integration.Tests.Infrastructure;

/// <summary>
/// Debian's Chromium, headless, driven over the Chrome DevTools Protocol (one page, over its WebSocket): navigate,
/// evaluate JavaScript, take screenshots. Started with a fresh profile and every background feature that would call
/// outside hosts turned off.
/// </summary>
public sealed class HeadlessChromium : IAsyncDisposable
{
    public const string Executable = "/usr/bin/chromium";

    /// <summary>Set by .ci/run: there a missing browser fails the test instead of skipping it.</summary>
    public const string RequireVariable = "PORTER_TEST_REQUIRE_CHROMIUM";

    private readonly Process _process;
    private readonly string _profile;
    private readonly ClientWebSocket _socket = new();
    private readonly ConcurrentDictionary<int, TaskCompletionSource<JsonObject>> _pending = new();
    private readonly CancellationTokenSource _stop = new();
    private Task _reader = Task.CompletedTask;
    private int _nextId;

    private HeadlessChromium(Process process, string profile)
    {
        _process = process;
        _profile = profile;
    }

    /// <summary>Skips the test (saying why) when Chromium is not installed, except under CI where it must be.</summary>
    public static void SkipUnlessInstalled() =>
        Skip.If(!File.Exists(Executable) && Environment.GetEnvironmentVariable(RequireVariable) is null,
            $"{Executable} is missing: install Debian's chromium (apt-get install -y chromium) to run the browser tests (.ci/run does)");

    public static async Task<HeadlessChromium> StartAsync()
    {
        var profile = Repo.TempDir("chromium-profile");
        var port = Repo.FreePort();
        var psi = new ProcessStartInfo(Executable) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[]
                 {
                     "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--disable-extensions", "--disable-default-apps", "--no-default-browser-check",
                     "--metrics-recording-only", "--window-size=1400,1800", $"--user-data-dir={profile}",
                     "--remote-debugging-address=127.0.0.1", $"--remote-debugging-port={port}", "about:blank",
                 })
            psi.ArgumentList.Add(arg);
        var process = Process.Start(psi)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var browser = new HeadlessChromium(process, profile);
        try
        {
            using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(10) };
            var pageSocket = await Poll.UntilAsync(async () =>
            {
                if (process.HasExited) throw new InvalidOperationException($"chromium exited with {process.ExitCode}");
                try
                {
                    var targets = JsonNode.Parse(await http.GetStringAsync($"http://127.0.0.1:{port}/json/list"))!.AsArray();
                    return (string?)targets.FirstOrDefault(t => (string?)t!["type"] == "page")?["webSocketDebuggerUrl"];
                }
                catch (HttpRequestException)
                {
                    return null;
                }
            }, TimeSpan.FromSeconds(60), "chromium's DevTools endpoint");
            await browser._socket.ConnectAsync(new Uri(pageSocket), CancellationToken.None);
            browser._reader = browser.ReadAsync();
            await browser.SendAsync("Page.enable");
            await browser.SendAsync("Runtime.enable");
            return browser;
        }
        catch
        {
            await browser.DisposeAsync();
            throw;
        }
    }

    public Task NavigateAsync(string url) => SendAsync("Page.navigate", new JsonObject { ["url"] = url });

    /// <summary>The value of a JavaScript expression in the page (JSON-compatible values only), or null when it threw.</summary>
    public async Task<JsonNode?> EvaluateAsync(string expression)
    {
        var reply = await SendAsync("Runtime.evaluate", new JsonObject { ["expression"] = expression, ["returnByValue"] = true });
        return reply["exceptionDetails"] is null ? reply["result"]?["value"]?.DeepClone() : null;
    }

    /// <summary>A PNG of the whole page.</summary>
    public async Task<byte[]> ScreenshotAsync()
    {
        var reply = await SendAsync("Page.captureScreenshot", new JsonObject { ["format"] = "png", ["captureBeyondViewport"] = true });
        return Convert.FromBase64String((string)reply["data"]!);
    }

    private async Task<JsonObject> SendAsync(string method, JsonObject? parameters = null)
    {
        var id = Interlocked.Increment(ref _nextId);
        var reply = new TaskCompletionSource<JsonObject>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = reply;
        var message = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters ?? new JsonObject() };
        await _socket.SendAsync(Encoding.UTF8.GetBytes(message.ToJsonString()), WebSocketMessageType.Text, true, CancellationToken.None);
        var answer = await reply.Task.WaitAsync(TimeSpan.FromSeconds(30));
        if (answer["error"] is { } error) throw new InvalidOperationException($"{method}: {error.ToJsonString()}");
        return answer["result"] as JsonObject ?? new JsonObject();
    }

    private async Task ReadAsync()
    {
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        try
        {
            while (_socket.State == WebSocketState.Open)
            {
                var result = await _socket.ReceiveAsync(buffer, _stop.Token);
                if (result.MessageType == WebSocketMessageType.Close) break;
                message.Write(buffer, 0, result.Count);
                if (!result.EndOfMessage) continue;
                var json = JsonNode.Parse(message.ToArray()) as JsonObject;
                message.SetLength(0);
                // Events (no id) are not needed: the tests poll the page's state instead.
                if (json?["id"] is { } id && _pending.TryRemove((int)id, out var waiter)) waiter.TrySetResult(json);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException)
        {
        }
        foreach (var waiter in _pending.Values) waiter.TrySetException(new InvalidOperationException("the DevTools connection closed"));
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try { await _reader; } catch (Exception) { /* closing */ }
        _socket.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        try { Directory.Delete(_profile, recursive: true); } catch (IOException) { /* a child still closing its files */ }
    }
}
