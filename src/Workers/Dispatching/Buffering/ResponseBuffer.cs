using System.Buffers;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Porter.Contracts.Options;

namespace Porter.Workers.Dispatching.Buffering;

/// <summary>
/// The response body YARP writes the app's answer into while it forwards: memory (pooled segments, up to the high
/// watermark and while the node-wide memory total allows), then an unlinked temporary file (while the disk total
/// allows). YARP finishes as soon as the app has sent everything, so the process's session is released before a slow
/// client has read a byte; <see cref="DeliverAsync"/> then feeds the client at its own pace. Server-Sent Events and
/// answers with <c>X-Accel-Buffering: no</c> pass straight through, as does the rest of an answer that finds no room
/// anywhere (what is buffered goes first, then the process is held as without buffering).
/// </summary>
public sealed class ResponseBuffer : Stream
{
    private const int SegmentSize = 64 * 1024;
    private const string AccelBuffering = "X-Accel-Buffering";

    private enum Mode : byte { Undecided, Buffering, PassThrough }

    private readonly HttpContext _context;
    private readonly IHttpResponseBodyFeature _client;
    private readonly ResponseBufferBudget _budget;
    private readonly List<byte[]?> _segments = [];
    private int _lastSegmentLength;
    private long _memoryReserved;
    private FileStream? _file;
    private long _fileBytes;
    private Mode _mode;
    private bool _detached;

    private ResponseBuffer(HttpContext context, IHttpResponseBodyFeature client, ResponseBufferBudget budget)
    {
        _context = context;
        _client = client;
        _budget = budget;
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

    /// <summary>Bytes held in memory and in the file now.</summary>
    public long Buffered => _segments.Count == 0 ? _fileBytes : (_segments.Count - 1L) * SegmentSize + _lastSegmentLength + _fileBytes;

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
            await DrainAsync(clientAborted);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            // The client left: nothing to tell it.
        }
        finally
        {
            ReleaseAll();
        }
    }

    /// <summary>The forward failed: what was buffered is dropped (never sent as if whole) and the body given back.</summary>
    public void Discard()
    {
        Detach();
        ReleaseAll();
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        if (_mode == Mode.Undecided) Decide(_context.Response);
        if (_mode == Mode.Buffering)
        {
            var rest = await AppendAsync(data, cancellationToken);
            if (rest.IsEmpty) return;
            // No room left: what is buffered goes first, the rest of the answer streams.
            await DrainAsync(cancellationToken);
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

    /// <summary>Keeps what it can of <paramref name="data"/>; returns the part for which there was no room.</summary>
    private async ValueTask<ReadOnlyMemory<byte>> AppendAsync(ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        while (!data.IsEmpty && _file is null)
        {
            if (_segments.Count == 0 || _lastSegmentLength == SegmentSize)
            {
                if (_memoryReserved + SegmentSize > _budget.Limits.HighWatermark || !_budget.TryReserveMemory(SegmentSize))
                {
                    _file = OpenFile();
                    if (_file is null) return data;
                    break;
                }
                _memoryReserved += SegmentSize;
                _segments.Add(ArrayPool<byte>.Shared.Rent(SegmentSize));
                _lastSegmentLength = 0;
            }
            var n = Math.Min(SegmentSize - _lastSegmentLength, data.Length);
            data.Span[..n].CopyTo(_segments[^1]!.AsSpan(_lastSegmentLength));
            _lastSegmentLength += n;
            data = data[n..];
        }
        if (data.IsEmpty) return data;
        if (!_budget.TryReserveDisk(data.Length)) return data;
        _fileBytes += data.Length;
        await _file!.WriteAsync(data, ct);
        return ReadOnlyMemory<byte>.Empty;
    }

    private FileStream? OpenFile()
    {
        try
        {
            var path = Path.Combine(_budget.Directory, Guid.NewGuid().ToString("N"));
            var file = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, bufferSize: 0, FileOptions.Asynchronous);
            // Unlinked at once: the open handle keeps it, and nothing is left behind however the node ends.
            File.Delete(path);
            return file;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Sends everything buffered to the client, giving memory back segment by segment.</summary>
    private async Task DrainAsync(CancellationToken ct)
    {
        var client = _client.Stream;
        for (var i = 0; i < _segments.Count; i++)
        {
            var length = i == _segments.Count - 1 ? _lastSegmentLength : SegmentSize;
            await client.WriteAsync(_segments[i].AsMemory(0, length), ct);
            ArrayPool<byte>.Shared.Return(_segments[i]!);
            _segments[i] = null;
            _budget.ReleaseMemory(SegmentSize);
            _memoryReserved -= SegmentSize;
        }
        _segments.Clear();
        _lastSegmentLength = 0;
        if (_file is { } file)
        {
            file.Position = 0;
            var chunk = ArrayPool<byte>.Shared.Rent(SegmentSize);
            try
            {
                int read;
                while ((read = await file.ReadAsync(chunk.AsMemory(0, SegmentSize), ct)) > 0) await client.WriteAsync(chunk.AsMemory(0, read), ct);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(chunk);
            }
            await file.DisposeAsync();
            _file = null;
            _budget.ReleaseDisk(_fileBytes);
            _fileBytes = 0;
        }
    }

    private void Detach()
    {
        if (_detached) return;
        _detached = true;
        _context.Features.Set(_client);
        _context.Features.Set<ResponseBuffer?>(null);
    }

    private void ReleaseAll()
    {
        foreach (var segment in _segments)
            if (segment is not null) ArrayPool<byte>.Shared.Return(segment);
        _segments.Clear();
        _budget.ReleaseMemory(_memoryReserved);
        _memoryReserved = 0;
        _file?.Dispose();
        _file = null;
        _budget.ReleaseDisk(_fileBytes);
        _fileBytes = 0;
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
