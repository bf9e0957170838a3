using System.Buffers;

namespace Porter.Workers.Dispatching.Buffering;

/// <summary>
/// Bytes kept in order for later: pooled memory segments up to <c>memoryLimit</c> (and while the node's budget allows),
/// then an unlinked temporary file (while the budget allows). Not thread-safe: one writer, then one reader.
/// </summary>
internal sealed class Spool(ResponseBufferBudget budget, long memoryLimit) : IDisposable
{
    private const int SegmentSize = 64 * 1024;

    private readonly List<byte[]?> _segments = [];
    private int _lastSegmentLength;
    private long _memoryReserved;
    private FileStream? _file;
    private long _fileBytes;
    private int _readSegment;
    private int _readOffset;
    private bool _readingFile;

    /// <summary>Bytes held now.</summary>
    public long Length => (_segments.Count == 0 ? 0 : (_segments.Count - 1L) * SegmentSize + _lastSegmentLength) + _fileBytes;

    /// <summary>Keeps what it can of <paramref name="data"/>; returns the part for which there was no room.</summary>
    public async ValueTask<ReadOnlyMemory<byte>> AppendAsync(ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        while (!data.IsEmpty && _file is null)
        {
            if (_segments.Count == 0 || _lastSegmentLength == SegmentSize)
            {
                if (_memoryReserved + SegmentSize > memoryLimit || !budget.TryReserveMemory(SegmentSize))
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
        if (!budget.TryReserveDisk(data.Length)) return data;
        _fileBytes += data.Length;
        await _file!.WriteAsync(data, ct);
        return ReadOnlyMemory<byte>.Empty;
    }

    /// <summary>Reads the next kept bytes in order (0 at the end), giving memory back as segments are used up.</summary>
    public async ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken ct)
    {
        while (!_readingFile && _readSegment < _segments.Count)
        {
            var length = _readSegment == _segments.Count - 1 ? _lastSegmentLength : SegmentSize;
            if (_readOffset < length)
            {
                var n = Math.Min(length - _readOffset, destination.Length);
                _segments[_readSegment].AsSpan(_readOffset, n).CopyTo(destination.Span);
                _readOffset += n;
                return n;
            }
            ReleaseReadSegment();
        }
        if (_file is null) return 0;
        if (!_readingFile)
        {
            _readingFile = true;
            _file.Position = 0;
        }
        return await _file.ReadAsync(destination, ct);
    }

    /// <summary>Writes everything kept to <paramref name="destination"/> in order, giving memory back as it goes.</summary>
    public async Task CopyToAsync(Stream destination, CancellationToken ct)
    {
        var chunk = ArrayPool<byte>.Shared.Rent(SegmentSize);
        try
        {
            // Segments go out as they are, without a copy; the file through one pooled chunk.
            while (!_readingFile && _readSegment < _segments.Count)
            {
                var length = _readSegment == _segments.Count - 1 ? _lastSegmentLength : SegmentSize;
                await destination.WriteAsync(_segments[_readSegment].AsMemory(_readOffset, length - _readOffset), ct);
                ReleaseReadSegment();
            }
            int read;
            while ((read = await ReadAsync(chunk.AsMemory(0, SegmentSize), ct)) > 0) await destination.WriteAsync(chunk.AsMemory(0, read), ct);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }
        Dispose();
    }

    private void ReleaseReadSegment()
    {
        ArrayPool<byte>.Shared.Return(_segments[_readSegment]!);
        _segments[_readSegment] = null;
        budget.ReleaseMemory(SegmentSize);
        _memoryReserved -= SegmentSize;
        _readSegment++;
        _readOffset = 0;
    }

    private FileStream? OpenFile()
    {
        try
        {
            var path = Path.Combine(budget.Directory, Guid.NewGuid().ToString("N"));
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

    /// <summary>Gives back every segment and the file.</summary>
    public void Dispose()
    {
        foreach (var segment in _segments)
            if (segment is not null) ArrayPool<byte>.Shared.Return(segment);
        _segments.Clear();
        budget.ReleaseMemory(_memoryReserved);
        _memoryReserved = 0;
        _lastSegmentLength = 0;
        _readSegment = 0;
        _readOffset = 0;
        _readingFile = false;
        _file?.Dispose();
        _file = null;
        budget.ReleaseDisk(_fileBytes);
        _fileBytes = 0;
    }
}
