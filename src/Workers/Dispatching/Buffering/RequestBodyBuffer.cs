using System.Buffers;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Porter.Contracts.Options;
using Porter.Workers.Pool;

namespace Porter.Workers.Dispatching.Buffering;

/// <summary>
/// For apps whose processes take one request at a time (concurrency 1, Python's default): the request body is read
/// completely (into a <see cref="Spool"/>: memory, then a temporary file) before a process is picked, so a slow upload
/// never holds a process. The app then reads it at loopback speed, with a Content-Length even when the client sent it
/// chunked. A body that finds no room in the node's buffers sends what was kept, then streams the rest.
/// </summary>
public sealed class RequestBodyBuffer : Stream
{
    private readonly Spool _spool;
    private readonly Stream _client;
    private ReadOnlyMemory<byte> _pending;
    private byte[]? _pendingArray;

    private RequestBodyBuffer(Spool spool, Stream client, ReadOnlyMemory<byte> pending, byte[]? pendingArray)
    {
        _spool = spool;
        _client = client;
        _pending = pending;
        _pendingArray = pendingArray;
    }

    /// <summary>Whether this request's body is buffered before it is forwarded.</summary>
    public static bool Applies(HttpContext context, AppOptions app, AppPool pool)
    {
        if (app.DisableRequestBuffering || context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody != true) return false;
        if (context.Features.Get<IHttpUpgradeFeature>()?.IsUpgradableRequest == true) return false;
        // Until a process has started, a Python app's concurrency (1 unless set) is known only from the option.
        var concurrency = app.Concurrency ?? (pool.Routable is [var first, ..] ? first.Concurrency : 0);
        return concurrency == 1;
    }

    /// <summary>
    /// Reads the client's body into the node's buffers and puts the buffered body in its place. Kestrel's own errors
    /// (a malformed body 400, a stalled one 408, one over the limit 413) come out as <see cref="BadHttpRequestException"/>.
    /// </summary>
    public static async Task InstallAsync(HttpContext context, ResponseBufferBudget budget)
    {
        var request = context.Request;
        var client = request.Body;
        var spool = new Spool(budget, budget.Limits.HighWatermark);
        var chunk = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            while (true)
            {
                var read = await client.ReadAsync(chunk, context.RequestAborted);
                if (read == 0) break;
                var rest = await spool.AppendAsync(chunk.AsMemory(0, read), context.RequestAborted);
                if (rest.IsEmpty) continue;
                // No room: the kept part goes first, then what is left streams from the client.
                request.Body = new RequestBodyBuffer(spool, client, rest, chunk);
                context.Response.RegisterForDispose(request.Body);
                chunk = null;
                return;
            }
        }
        catch
        {
            spool.Dispose();
            throw;
        }
        finally
        {
            if (chunk is not null) ArrayPool<byte>.Shared.Return(chunk);
        }
        // Complete: the app gets a Content-Length, never a chunked upload it would have to read incrementally.
        request.Headers.Remove("Transfer-Encoding");
        request.ContentLength = spool.Length;
        request.Body = new RequestBodyBuffer(spool, Null, ReadOnlyMemory<byte>.Empty, null);
        context.Response.RegisterForDispose(request.Body);
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await _spool.ReadAsync(buffer, cancellationToken);
        if (read > 0) return read;
        if (!_pending.IsEmpty)
        {
            var n = Math.Min(_pending.Length, buffer.Length);
            _pending.Span[..n].CopyTo(buffer.Span);
            _pending = _pending[n..];
            return n;
        }
        return await _client.ReadAsync(buffer, cancellationToken);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _spool.Dispose();
            if (_pendingArray is not null) ArrayPool<byte>.Shared.Return(_pendingArray);
            _pendingArray = null;
            _pending = ReadOnlyMemory<byte>.Empty;
        }
        base.Dispose(disposing);
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
