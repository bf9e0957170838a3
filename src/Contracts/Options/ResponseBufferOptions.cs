namespace Porter.Contracts.Options;

/// <summary>
/// Response buffering (Passenger's response buffer): Porter reads an app's answer into memory, then a temporary file
/// under the data dir, so the process is free once it has answered and a slow client is fed at its own pace.
/// </summary>
public sealed class ResponseBufferOptions
{
    /// <summary>Bytes of one response held in memory before the rest goes to a temporary file (Passenger's 128 MiB).</summary>
    public long HighWatermark { get; set; } = 128L << 20;

    /// <summary>Bytes all responses being buffered on this node may hold in memory together; beyond it they spill to files.</summary>
    public long MemoryTotal { get; set; } = 256L << 20;

    /// <summary>
    /// Bytes all temporary buffer files on this node may hold together; a response that finds no room anywhere goes
    /// on to its client directly, at the client's pace (the process is then held as without buffering).
    /// </summary>
    public long DiskTotal { get; set; } = 2L << 30;
}
