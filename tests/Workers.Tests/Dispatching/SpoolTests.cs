using Microsoft.Extensions.Logging.Abstractions;
using Porter.Contracts.Options;
using Porter.Workers.Dispatching.Buffering;

namespace Porter.Workers.Tests.Dispatching;

/// <summary>The buffers' store: memory first, then a file, within the node's totals, read back in order, everything given back.</summary>
public sealed class SpoolTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("porter-spool-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private ResponseBufferBudget Budget(long memory, long disk) => new(new PorterOptions
    {
        DataDir = _dir,
        ResponseBuffer = new ResponseBufferOptions { HighWatermark = 1L << 30, MemoryTotal = memory, DiskTotal = disk },
    }, NullLogger<ResponseBufferBudget>.Instance);

    private static byte[] Pattern(int size) => Enumerable.Range(0, size).Select(i => (byte)(i % 251)).ToArray();

    [Fact]
    public async Task Spills_past_the_memory_total_to_an_unlinked_file_and_reads_back_in_order()
    {
        var budget = Budget(memory: 128 * 1024, disk: 10L << 20);
        var data = Pattern(1_000_000);
        var spool = new Spool(budget, memoryLimit: 1L << 30);
        for (var offset = 0; offset < data.Length; offset += 10_000)
            Assert.True((await spool.AppendAsync(data.AsMemory(offset, 10_000), default)).IsEmpty);
        Assert.Equal(data.Length, spool.Length);
        Assert.Equal(128 * 1024, budget.MemoryInUse);
        Assert.Equal(data.Length - 128 * 1024, budget.DiskInUse);
        Assert.Empty(Directory.EnumerateFiles(budget.Directory));

        var copy = new MemoryStream();
        await spool.CopyToAsync(copy, default);
        Assert.Equal(data, copy.ToArray());
        Assert.Equal(0, budget.MemoryInUse);
        Assert.Equal(0, budget.DiskInUse);
    }

    [Fact]
    public async Task Hands_back_what_finds_no_room_and_releases_everything_on_dispose()
    {
        var budget = Budget(memory: 64 * 1024, disk: 1000);
        var spool = new Spool(budget, memoryLimit: 1L << 30);
        var rest = await spool.AppendAsync(Pattern(64 * 1024 + 5000), default);
        Assert.Equal(5000, rest.Length);
        Assert.Equal(64 * 1024, spool.Length);

        var read = new byte[100_000];
        var total = 0;
        int n;
        while ((n = await spool.ReadAsync(read.AsMemory(total), default)) > 0) total += n;
        Assert.Equal(64 * 1024, total);
        spool.Dispose();
        Assert.Equal(0, budget.MemoryInUse);
        Assert.Equal(0, budget.DiskInUse);
    }

    [Fact]
    public async Task One_response_keeps_at_most_its_high_watermark_in_memory()
    {
        var budget = Budget(memory: 1L << 30, disk: 1L << 30);
        var spool = new Spool(budget, memoryLimit: 64 * 1024);
        await spool.AppendAsync(Pattern(200_000), default);
        Assert.Equal(64 * 1024, budget.MemoryInUse);
        Assert.Equal(200_000 - 64 * 1024, budget.DiskInUse);
        spool.Dispose();
        Assert.Equal(0, budget.MemoryInUse + budget.DiskInUse);
    }
}
