using System.Buffers;

namespace Porter.Gateway.Caching;

/// <summary>
/// Passes a response body through to the client while keeping a copy, up to a limit, for storing in the cache.
/// Past the limit (or once disabled) it only passes through; the copy is then unusable.
/// </summary>
internal sealed class CaptureStream(Stream inner, long limit) : Stream
{
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(4096);
    private int _length;

    /// <summary>False once the response turned out not to be storable: stop copying.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The body went past the limit; the copy is incomplete.</summary>
    public bool Overflowed { get; private set; }

    public long Captured => _length;

    /// <summary>The captured body, when complete.</summary>
    public byte[] ToArray() => _buffer.AsSpan(0, _length).ToArray();

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Flush() => inner.Flush();
    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count)
    {
        Copy(buffer.AsSpan(offset, count));
        inner.Write(buffer, offset, count);
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Copy(buffer.Span);
        return inner.WriteAsync(buffer, cancellationToken);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    private void Copy(ReadOnlySpan<byte> data)
    {
        if (!Enabled || Overflowed || data.IsEmpty) return;
        if (_length + (long)data.Length > limit)
        {
            Overflowed = true;
            return;
        }
        if (_length + data.Length > _buffer.Length)
        {
            var bigger = ArrayPool<byte>.Shared.Rent((int)Math.Min(limit, Math.Max(_buffer.Length * 2L, _length + (long)data.Length)));
            _buffer.AsSpan(0, _length).CopyTo(bigger);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = bigger;
        }
        data.CopyTo(_buffer.AsSpan(_length));
        _length += data.Length;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && _buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
        }
        base.Dispose(disposing);
    }
}
