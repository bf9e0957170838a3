using Porter.CacheShard.Policy;

namespace Porter.CacheShard.Tests.Policy;

public sealed class TurbocacheCountersTests
{
    [Fact]
    public void Snapshot_reports_every_counter()
    {
        var counters = new TurbocacheCounters();
        counters.RecordLookup();
        counters.RecordLookup();
        counters.RecordHit();
        counters.RecordMiss();
        counters.RecordStaleHit();
        counters.RecordBypass();
        counters.RecordStore(1000);
        counters.RecordStore(300, replacedBytes: 100);
        counters.RecordEviction(1, 200);
        counters.RecordInvalidation(2, 50);
        counters.RecordRelease(10);
        counters.RecordRevalidation();
        counters.RecordCoalescedWait();
        counters.RecordRefusal(RefusalReason.SetCookie);
        counters.RecordRefusal(RefusalReason.SetCookie);
        counters.RecordRefusal(RefusalReason.BodyTooLarge);
        counters.RecordRefusal(RefusalReason.None);

        var snapshot = counters.Snapshot();

        Assert.Equal(2, snapshot.Lookups);
        Assert.Equal(1, snapshot.Hits);
        Assert.Equal(1, snapshot.Misses);
        Assert.Equal(1, snapshot.StaleHits);
        Assert.Equal(1, snapshot.Bypasses);
        Assert.Equal(2, snapshot.Stores);
        Assert.Equal(1, snapshot.Evictions);
        Assert.Equal(2, snapshot.Invalidations);
        Assert.Equal(1000 + 200 - 200 - 50 - 10, snapshot.BytesHeld);
        Assert.Equal(1, snapshot.Revalidations);
        Assert.Equal(1, snapshot.CoalescedWaits);
        Assert.Equal(2, snapshot.Refusals[RefusalReason.SetCookie]);
        Assert.Equal(1, snapshot.Refusals[RefusalReason.BodyTooLarge]);
        Assert.False(snapshot.Refusals.ContainsKey(RefusalReason.None));
        Assert.Equal(3, snapshot.TotalRefusals);
    }

    [Fact]
    public void Counts_from_many_threads_are_not_lost()
    {
        var counters = new TurbocacheCounters();
        Parallel.For(0, 10_000, _ =>
        {
            counters.RecordLookup();
            counters.RecordRefusal(RefusalReason.Private);
        });
        var snapshot = counters.Snapshot();
        Assert.Equal(10_000, snapshot.Lookups);
        Assert.Equal(10_000, snapshot.Refusals[RefusalReason.Private]);
    }
}
