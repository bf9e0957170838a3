using Microsoft.Extensions.Logging;
using Porter.Contracts.Options;

namespace Porter.Workers.Dispatching.Buffering;

/// <summary>
/// What every response buffer on this node may use together: <see cref="ResponseBufferOptions.MemoryTotal"/> bytes of
/// memory and <see cref="ResponseBufferOptions.DiskTotal"/> bytes of temporary files under DATA_DIR/response-buffers.
/// Reservations are lock-free counters; a buffer that finds no room spills to disk, then streams.
/// </summary>
public sealed class ResponseBufferBudget
{
    private long _memory;
    private long _disk;

    public ResponseBufferBudget(PorterOptions options, ILogger<ResponseBufferBudget> logger)
    {
        Limits = options.ResponseBuffer;
        Directory = Path.Combine(options.DataDir ?? Path.GetTempPath(), "response-buffers");
        // Buffer files are unlinked as soon as they are open; whatever is left here was opened by a node killed in between.
        try
        {
            System.IO.Directory.CreateDirectory(Directory);
            foreach (var leftover in System.IO.Directory.EnumerateFiles(Directory)) File.Delete(leftover);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            logger.LogWarning("Response buffer files cannot go to {Directory} ({Message}): responses beyond memory stream to their clients", Directory, e.Message);
        }
    }

    public ResponseBufferOptions Limits { get; }

    /// <summary>Where buffer files are created (and at once unlinked).</summary>
    public string Directory { get; }

    /// <summary>Bytes of memory buffers hold now.</summary>
    public long MemoryInUse => Volatile.Read(ref _memory);

    /// <summary>Bytes temporary buffer files hold now.</summary>
    public long DiskInUse => Volatile.Read(ref _disk);

    public bool TryReserveMemory(long bytes) => TryReserve(ref _memory, bytes, Limits.MemoryTotal);

    public void ReleaseMemory(long bytes) => Interlocked.Add(ref _memory, -bytes);

    public bool TryReserveDisk(long bytes) => TryReserve(ref _disk, bytes, Limits.DiskTotal);

    public void ReleaseDisk(long bytes) => Interlocked.Add(ref _disk, -bytes);

    private static bool TryReserve(ref long counter, long bytes, long limit)
    {
        if (Interlocked.Add(ref counter, bytes) <= limit) return true;
        Interlocked.Add(ref counter, -bytes);
        return false;
    }
}
