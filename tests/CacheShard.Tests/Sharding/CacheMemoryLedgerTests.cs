using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Porter.CacheShard.Sharding;
using Porter.Contracts.Caching;

namespace Porter.CacheShard.Tests.Sharding;

/// <summary>The node's byte budget, with probes standing in for the stores that own the records.</summary>
public sealed class CacheMemoryLedgerTests : TestKit
{
    // A shared 2-core machine can be slow to schedule actors: waits get room, assertions stay the same.
    public CacheMemoryLedgerTests() : base("akka.test.single-expect-default = 10s") { }

    private static CacheMemoryLedger Ledger(long maxTotalBytes) =>
        new(new TurbocacheOptions { MaxBodyBytes = 10, MaxTotalBytes = maxTotalBytes });

    /// <summary>A key's record owned by a fresh probe.</summary>
    private (TestProbe Owner, CacheMemoryLedger.Record Record) Key()
    {
        var owner = CreateTestProbe();
        return (owner, new CacheMemoryLedger.Record(owner));
    }

    private static void ExpectEvicted(TestProbe owner, CacheMemoryLedger.Record record) =>
        Assert.Same(record, owner.ExpectMsg<CacheMemoryLedger.Evict>().Record);

    [Fact]
    public void Evicts_the_least_recently_used_key_when_over_budget()
    {
        var ledger = Ledger(100);
        var (a, b, c) = (Key(), Key(), Key());
        ledger.Update(a.Record, 40);
        ledger.Update(b.Record, 40);
        ledger.Touch(a.Record); // b is now the least recently used
        ledger.Update(c.Record, 40);

        ExpectEvicted(b.Owner, b.Record);
        Assert.Equal(80, ledger.TotalBytes); // deducted at once, before b drops anything
        Assert.Equal(0, ledger.BytesOf(b.Record));
        Assert.Equal(40, ledger.BytesOf(a.Record));
        Assert.Equal(1, ledger.EvictedEntities);
        a.Owner.ExpectNoMsg(TimeSpan.Zero);
        c.Owner.ExpectNoMsg(TimeSpan.Zero);
    }

    [Fact]
    public void Evicts_as_many_keys_as_needed_oldest_first()
    {
        var ledger = Ledger(100);
        var keys = Enumerable.Range(0, 5).Select(_ => Key()).ToArray();
        foreach (var key in keys)
            ledger.Update(key.Record, 20);
        ledger.Update(Key().Record, 55);

        ExpectEvicted(keys[0].Owner, keys[0].Record);
        ExpectEvicted(keys[1].Owner, keys[1].Record);
        ExpectEvicted(keys[2].Owner, keys[2].Record);
        keys[3].Owner.ExpectNoMsg(TimeSpan.Zero);
        Assert.Equal(95, ledger.TotalBytes);
        Assert.Equal(3, ledger.Entities);
    }

    [Fact]
    public void Growth_of_a_key_counts_only_the_difference()
    {
        var ledger = Ledger(100);
        var a = Key().Record;
        ledger.Update(a, 30);
        ledger.Update(a, 50);
        Assert.Equal(50, ledger.TotalBytes);
        ledger.Update(a, 0);
        Assert.Equal(0, ledger.TotalBytes);
        Assert.Equal(0, ledger.Entities);
    }

    [Fact]
    public void Key_alone_over_budget_is_evicted_itself()
    {
        var ledger = Ledger(10);
        var a = Key();
        ledger.Update(a.Record, 11);
        ExpectEvicted(a.Owner, a.Record);
        Assert.Equal(0, ledger.TotalBytes);
    }

    [Fact]
    public void Store_racing_an_eviction_is_reconciled_by_the_owner_reporting_zero()
    {
        var ledger = Ledger(100);
        var (a, b) = (Key(), Key());
        ledger.Update(a.Record, 60);
        ledger.Update(b.Record, 60); // evicts a
        ExpectEvicted(a.Owner, a.Record);
        ledger.Update(a.Record, 70); // a stored again before handling Evict: b is evicted now
        ExpectEvicted(b.Owner, b.Record);
        ledger.Update(a.Record, 0); // a handles Evict: drops everything
        ledger.Update(b.Record, 0);
        Assert.Equal(0, ledger.TotalBytes);
        Assert.Equal(0, ledger.Entities);
    }

    [Fact]
    public void Touching_a_key_that_holds_nothing_is_harmless()
    {
        var ledger = Ledger(100);
        ledger.Touch(Key().Record);
        ledger.Update(Key().Record, 0);
        Assert.Equal(0, ledger.Entities);
    }

    [Fact]
    public void Concurrent_updates_keep_the_total_equal_to_the_records()
    {
        var ledger = Ledger(1_000);
        var owner = CreateTestProbe();
        var entities = Enumerable.Range(0, 16).Select(_ => new CacheMemoryLedger.Record(owner)).ToArray();
        Parallel.For(0, 20_000, i =>
        {
            var entity = entities[i % entities.Length];
            if (i % 7 == 0)
                ledger.Touch(entity);
            else
                ledger.Update(entity, (i * 31) % 120);
        });
        Assert.Equal(entities.Sum(ledger.BytesOf), ledger.TotalBytes);
        Assert.True(ledger.TotalBytes <= 1_000);
    }
}
