using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Porter.CacheShard.Sharding;
using Porter.Contracts.Caching;

namespace Porter.CacheShard.Tests.Sharding;

/// <summary>The node's byte budget, with probes standing in for entities.</summary>
public sealed class CacheMemoryLedgerTests : TestKit
{
    private static CacheMemoryLedger Ledger(long maxTotalBytes) =>
        new(new TurbocacheOptions { MaxBodyBytes = 10, MaxTotalBytes = maxTotalBytes });

    [Fact]
    public void Evicts_the_least_recently_used_entity_when_over_budget()
    {
        var ledger = Ledger(100);
        var (a, b, c) = (CreateTestProbe(), CreateTestProbe(), CreateTestProbe());
        ledger.Update(a, 40);
        ledger.Update(b, 40);
        ledger.Touch(a); // b is now the least recently used
        ledger.Update(c, 40);

        b.ExpectMsg<CacheMemoryLedger.Evict>();
        Assert.Equal(80, ledger.TotalBytes); // deducted at once, before b drops anything
        Assert.Equal(0, ledger.BytesOf(b));
        Assert.Equal(40, ledger.BytesOf(a));
        Assert.Equal(1, ledger.EvictedEntities);
        a.ExpectNoMsg(TimeSpan.Zero);
        c.ExpectNoMsg(TimeSpan.Zero);
    }

    [Fact]
    public void Evicts_as_many_entities_as_needed_oldest_first()
    {
        var ledger = Ledger(100);
        var probes = Enumerable.Range(0, 5).Select(_ => CreateTestProbe()).ToArray();
        foreach (var probe in probes)
            ledger.Update(probe, 20);
        var big = CreateTestProbe();
        ledger.Update(big, 55);

        probes[0].ExpectMsg<CacheMemoryLedger.Evict>();
        probes[1].ExpectMsg<CacheMemoryLedger.Evict>();
        probes[2].ExpectMsg<CacheMemoryLedger.Evict>();
        probes[3].ExpectNoMsg(TimeSpan.Zero);
        Assert.Equal(95, ledger.TotalBytes);
        Assert.Equal(3, ledger.Entities);
    }

    [Fact]
    public void Growth_of_an_entity_counts_only_the_difference()
    {
        var ledger = Ledger(100);
        var a = CreateTestProbe();
        ledger.Update(a, 30);
        ledger.Update(a, 50);
        Assert.Equal(50, ledger.TotalBytes);
        ledger.Update(a, 0);
        Assert.Equal(0, ledger.TotalBytes);
        Assert.Equal(0, ledger.Entities);
    }

    [Fact]
    public void Entity_alone_over_budget_is_evicted_itself()
    {
        var ledger = Ledger(10);
        var a = CreateTestProbe();
        ledger.Update(a, 11);
        a.ExpectMsg<CacheMemoryLedger.Evict>();
        Assert.Equal(0, ledger.TotalBytes);
    }

    [Fact]
    public void Store_racing_an_eviction_is_reconciled_by_the_entity_reporting_zero()
    {
        var ledger = Ledger(100);
        var (a, b) = (CreateTestProbe(), CreateTestProbe());
        ledger.Update(a, 60);
        ledger.Update(b, 60); // evicts a
        a.ExpectMsg<CacheMemoryLedger.Evict>();
        ledger.Update(a, 70); // a stored again before handling Evict: b is evicted now
        b.ExpectMsg<CacheMemoryLedger.Evict>();
        ledger.Update(a, 0); // a handles Evict: drops everything
        ledger.Update(b, 0);
        Assert.Equal(0, ledger.TotalBytes);
        Assert.Equal(0, ledger.Entities);
    }

    [Fact]
    public void Touching_an_entity_that_holds_nothing_is_harmless()
    {
        var ledger = Ledger(100);
        ledger.Touch(CreateTestProbe());
        ledger.Update(CreateTestProbe(), 0);
        Assert.Equal(0, ledger.Entities);
    }

    [Fact]
    public void Concurrent_updates_keep_the_total_equal_to_the_records()
    {
        var ledger = Ledger(1_000);
        var entities = Enumerable.Range(0, 16).Select(_ => (IActorRef)CreateTestProbe()).ToArray();
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
