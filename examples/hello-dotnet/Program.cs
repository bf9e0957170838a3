// hello-dotnet: Porter's ASP.NET Core example. It listens on 127.0.0.1:$PORT, as Porter requires of every app.
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;

var portText = Environment.GetEnvironmentVariable("PORT");
if (!int.TryParse(portText, out var port) || port is <= 0 or > 65535)
{
    Console.Error.WriteLine($"hello-dotnet: environment variable PORT must be a TCP port number, got \"{portText}\"");
    return 1;
}

var builder = WebApplication.CreateBuilder(args);
builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
// Quiet: keep the startup lines, drop the per-request log lines. Porter tags each line of the
// app's output with app and PID, so one line per log event reads best.
builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
// Porter drains the process before it sends SIGTERM, so a short grace is enough.
builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(5));

var app = builder.Build();
var requests = 0;
string[] getOrHead = ["GET", "HEAD"];

// No caching headers: every request reaches the app, so the counter visibly moves.
app.MapMethods("/", getOrHead, () =>
    Results.Text($"Hello from hello-dotnet, pid {Environment.ProcessId}, request #{Interlocked.Increment(ref requests)}\n"));

app.MapMethods("/pid", getOrHead, () =>
{
    Interlocked.Increment(ref requests);
    return Results.Text(Environment.ProcessId.ToString());
});

// Cacheable for 10 s: Porter's turbocache answers repeats, so the number stays put until it expires.
app.MapMethods("/cached", getOrHead, (HttpResponse response) =>
{
    response.Headers.CacheControl = "public, max-age=10";
    return Results.Text($"Cached hello from hello-dotnet, pid {Environment.ProcessId}, request #{Interlocked.Increment(ref requests)}\n");
});

// Out-of-band work: Porter has taken this process out of rotation, so a full blocking collection
// here delays no visitor. Not counted as a visitor request. Only Porter may ask: it gives each process its own
// secret and signs the call with it (X-Porter-OOB-Token: "ID.MAC", MAC the hex HMAC-SHA256 of ID); anyone else gets 403.
var oobSecret = Encoding.UTF8.GetBytes(Environment.GetEnvironmentVariable("PORTER_OOB_SECRET") ?? "");
bool IsPorterOobCall(HttpRequest request)
{
    var token = request.Headers["X-Porter-OOB-Token"].ToString();
    var dot = token.IndexOf('.');
    if (oobSecret.Length == 0 || dot <= 0 || !token[..dot].All(char.IsAsciiDigit)) return false;
    var expected = HMACSHA256.HashData(oobSecret, Encoding.ASCII.GetBytes(token[..dot]));
    try
    {
        return CryptographicOperations.FixedTimeEquals(Convert.FromHexString(token[(dot + 1)..]), expected);
    }
    catch (FormatException)
    {
        return false;
    }
}

app.MapPost("/.porter/oob-work", (HttpRequest request, HttpResponse response) =>
{
    if (!IsPorterOobCall(request)) return Results.Text("out-of-band work is called by Porter only\n", statusCode: StatusCodes.Status403Forbidden);
    var before = GC.GetTotalMemory(forceFullCollection: false);
    var clock = Stopwatch.StartNew();
    GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
    GC.WaitForPendingFinalizers();
    GC.Collect();
    var after = GC.GetTotalMemory(forceFullCollection: false);
    response.Headers.CacheControl = "no-store";
    return Results.Json(new { ok = true, collected = Math.Max(0, before - after), ms = clock.Elapsed.TotalMilliseconds });
});

app.Run();
return 0;
