// The ceiling for any Kestrel design of Porter's hit path: every request gets the stored 2 KB page with the headers
// of a Porter hit, written from bytes prepared at start. No routing, no cache lookup, no metrics.
//   porter-bench-ceiling --port P [--address 127.0.0.1]
using System.Net;
using System.Text;
using Microsoft.Extensions.Primitives;

// Socket completions inline on the epoll threads, as Porter's node programs choose for themselves
// (src/Hosting/SocketTuning.cs); read once, when the first socket engine starts, so before anything listens.
const string InlineCompletions = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";
if (Environment.GetEnvironmentVariable(InlineCompletions) is null)
    Environment.SetEnvironmentVariable(InlineCompletions, "1");

if (!TryParse(args, out var address, out var port))
{
    Console.Error.WriteLine("porter-bench-ceiling: usage: porter-bench-ceiling --port P [--address 127.0.0.1]");
    return 2;
}

var builder = WebApplication.CreateSlimBuilder();
builder.Logging.SetMinimumLevel(LogLevel.Warning);
// As in Porter (src/Hosting/NodeHost.cs): while this category is enabled, ASP.NET starts an Activity per request.
builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
builder.WebHost.ConfigureKestrel(kestrel =>
{
    kestrel.AddServerHeader = false;
    kestrel.Listen(address, port);
});
// As in Porter: each request is read straight into a pooled buffer, without a zero-byte read first.
builder.WebHost.UseSockets(sockets => sockets.WaitForDataBeforeAllocatingBuffer = false);

var app = builder.Build();
var page = Page.Bytes;
var contentType = new StringValues("text/html; charset=utf-8");
var cacheControl = new StringValues("public, max-age=60");
var age = new StringValues("0");
var hit = new StringValues("HIT");
app.Run(context =>
{
    var response = context.Response;
    response.StatusCode = 200;
    response.ContentLength = page.Length;
    var headers = response.Headers;
    headers.ContentType = contentType;
    headers.Age = age;
    headers.CacheControl = cacheControl;
    headers["X-Cache"] = hit;
    if (HttpMethods.IsHead(context.Request.Method)) return Task.CompletedTask;
    var write = response.BodyWriter.WriteAsync(page);
    return write.IsCompletedSuccessfully ? Task.CompletedTask : write.AsTask();
});
await app.StartAsync();
Console.WriteLine($"porter-bench-ceiling listening on http://{address}:{port}");
await app.WaitForShutdownAsync();
return 0;

static bool TryParse(string[] args, out IPAddress address, out int port)
{
    address = IPAddress.Loopback;
    port = 0;
    for (var i = 0; i + 1 < args.Length; i += 2)
    {
        switch (args[i])
        {
            case "--port" when int.TryParse(args[i + 1], out var p) && p is > 0 and < 65536: port = p; break;
            case "--address" when IPAddress.TryParse(args[i + 1], out var a): address = a; break;
            default: return false;
        }
    }
    return port > 0 && args.Length % 2 == 0;
}

/// <summary>The origin's page (bench/origin/app.js makePage): the same 2,048 bytes.</summary>
static class Page
{
    public static readonly byte[] Bytes = Make();

    private static byte[] Make()
    {
        const string head = "<!doctype html>\n<html><head><title>Porter bench page</title></head><body>\n<p>";
        const string tail = "</p>\n</body></html>\n";
        const string filler = "The quick brown fox jumps over the lazy dog. ";
        const int size = 2048;
        var middle = new StringBuilder();
        while (head.Length + middle.Length + tail.Length < size) middle.Append(filler);
        var text = head + middle.ToString(0, size - head.Length - tail.Length) + tail;
        return Encoding.ASCII.GetBytes(text);
    }
}
