using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Porter.Contracts.Options;

namespace Porter.Workers.Dispatching.Buffering;

/// <summary>
/// The response body YARP writes the app's answer into while it forwards: a <see cref="Spool"/> (memory up to the high
/// watermark while the node-wide memory total allows, then an unlinked temporary file while the disk total allows).
/// YARP finishes as soon as the app has sent everything, so the process's session is released before a slow client
/// has read a byte; <see cref="DeliverAsync"/> then feeds the client at its own pace. Server-Sent Events and answers
/// with <c>X-Accel-Buffering: no</c> pass straight through, as does the rest of an answer that finds no room anywhere
/// (what is buffered goes first, then the process is held as without buffering).
/// </summary>
public sealed class ResponseBuffer : Stream
{
    private const string AccelBuffering = "X-Accel-Buffering";

    private enum Mode : byte { Undecided, Buffering, PassThrough }

    private readonly HttpContext _context;
    private readonly IHttpResponseBodyFeature _client;
    private readonly Spool _spool;
    private Mode _mode;
    private bool _detached;

    private ResponseBuffer(HttpContext context, IHttpResponseBodyFeature client, ResponseBufferBudget budget)
    {
        _context = context;
        _client = client;
        _spool = new Spool(budget, budget.Limits.HighWatermark);
    }

    /// <summary>
    /// Puts a buffer in front of the client's response body for one forward, or returns null when this request's
    /// answer streams: the app turned buffering off, or the request may upgrade (WebSockets).
    /// </summary>
    public static ResponseBuffer? Install(HttpContext context, AppOptions app, ResponseBufferBudget budget)
    {
        if (app.DisableResponseBuffering || context.Features.Get<IHttpUpgradeFeature>()?.IsUpgradableRequest == true) return null;
        if (context.Features.Get<IHttpResponseBodyFeature>() is not { } client) return null;
        var buffer = new ResponseBuffer(context, client, budget);
        context.Features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(buffer, client));
        context.Features.Set(buffer);
        return buffer;
    }

    /// <summary>
    /// Judges the app's answer by its headers, before any body byte: an event stream or <c>X-Accel-Buffering: no</c>
    /// streams (the header is Porter's instruction, not the client's, and is removed), anything else is buffered.
    /// </summary>
    public void Decide(HttpResponse response)
    {
        if (_mode != Mode.Undecided) return;
        var streams = response.Headers.Remove(AccelBuffering, out var accel) && accel.ToString().Trim().Equals("no", StringComparison.OrdinalIgnoreCase);
        streams |= response.ContentType?.StartsWith("text/event-stream", StringComparison.OrdinalIgnoreCase) == true;
        _mode = streams ? Mode.PassThrough : Mode.Buffering;
    }

    /// <summary>
    /// The app has finished: gives the request its own response body back and sends it what was buffered, at the
    /// client's pace. A client that goes away ends it quietly.
    /// </summary>
    public async Task DeliverAsync(CancellationToken clientAborted)
    {
        Detach();
        try
        {
            await _spool.CopyToAsync(_client.Stream, clientAborted);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            // The client left: nothing to tell it.
        }
        finally
        {
            _spool.Dispose();
        }
    }

    /// <summary>The forward failed: what was buffered is dropped (never sent as if whole) and the body given back.</summary>
    public void Discard()
    {
        Detach();
        _spool.Dispose();
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        if (_mode == Mode.Undecided) Decide(_context.Response);
        if (_mode == Mode.Buffering)
        {
            var rest = await _spool.AppendAsync(data, cancellationToken);
            if (rest.IsEmpty) return;
            // No room left: what is buffered goes first, the rest of the answer streams.
            await _spool.CopyToAsync(_client.Stream, cancellationToken);
            _mode = Mode.PassThrough;
            data = rest;
        }
        await _client.Stream.WriteAsync(data, cancellationToken);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();

    public override Task FlushAsync(CancellationToken cancellationToken) =>
        _mode == Mode.PassThrough ? _client.Stream.FlushAsync(cancellationToken) : Task.CompletedTask;

    public override void Flush() => FlushAsync(CancellationToken.None).GetAwaiter().GetResult();

    private void Detach()
    {
        if (_detached) return;
        _detached = true;
        _context.Features.Set(_client);
        _context.Features.Set<ResponseBuffer?>(null);
    }

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
