using Porter.Contracts.Ids;
using Porter.Workers.Pool;
using static Porter.Workers.Pool.PoolArbiter;

namespace Porter.Workers.Tests.Pool;

public sealed class PoolArbiterTests
{
    private static readonly AppName A = new("a");
    private static readonly AppName B = new("b");
    private static readonly AppName C = new("c");
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static PoolArbiter Arbiter(int max, int minA = 0, int minB = 0, int minC = 0) =>
        new(max, new Dictionary<AppName, int> { [A] = minA, [B] = minB, [C] = minC });

    private static Func<IEnumerable<IdleProcess>> Idle(params IdleProcess[] idle) => () => idle;

    private static IdleProcess IdleOf(AppName app, int pid, int secondsAgo) => new(app, new ProcessId(pid), T0.AddSeconds(-secondsAgo));

    private static void Fill(PoolArbiter arbiter, AppName app, int count)
    {
        for (var i = 0; i < count; i++) Assert.IsType<Grant>(Assert.Single(arbiter.RequestSlot(app, 1000 + i, false, Idle())));
    }

    [Fact]
    public void Grants_slots_until_the_pool_is_full_then_requests_wait()
    {
        var arbiter = Arbiter(2);
        Assert.Equal([new Grant(A, 1)], arbiter.RequestSlot(A, 1, false, Idle()));
        Assert.Equal([new Grant(B, 2)], arbiter.RequestSlot(B, 2, false, Idle()));
        Assert.Empty(arbiter.RequestSlot(A, 3, false, Idle()));
        Assert.Equal(2, arbiter.Used);
        Assert.Equal(1, arbiter.Waiting);
    }

    [Fact]
    public void Full_pool_evicts_the_least_recently_used_idle_process_of_another_app()
    {
        var arbiter = Arbiter(3);
        Fill(arbiter, A, 2);
        Fill(arbiter, B, 1);
        var actions = arbiter.RequestSlot(C, 7, false, Idle(IdleOf(A, 10, 5), IdleOf(A, 11, 50), IdleOf(B, 20, 500)));
        // B's process is the least recently used idle one of an app above its min-instances: it goes first.
        Assert.Equal([new Evict(B, new ProcessId(20))], actions);
        // Once it is gone, its slot goes to the waiting request.
        Assert.Equal([new Grant(C, 7)], arbiter.ReleaseSlot(B, new ProcessId(20), Idle()));
        Assert.Equal(3, arbiter.Used);
    }

    [Fact]
    public void Never_evicts_below_min_instances_nor_from_an_app_that_waits_for_room()
    {
        var arbiter = Arbiter(3, minA: 2, minB: 0);
        Fill(arbiter, A, 2);
        Fill(arbiter, B, 1);
        // A is at min-instances, and an app waiting for room is never asked to give some up.
        Assert.Empty(arbiter.RequestSlot(B, 5, false, Idle(IdleOf(A, 10, 100), IdleOf(B, 20, 100))));
        Assert.Empty(arbiter.RequestSlot(C, 6, false, Idle(IdleOf(A, 10, 100), IdleOf(B, 20, 100))));
        Assert.Equal(2, arbiter.Waiting);
        // Once B's request is served, its idle process may make room for C.
        Assert.Equal([new Grant(B, 5)], arbiter.ReleaseSlot(A, null, Idle()));
        Assert.Equal([new Evict(B, new ProcessId(20))], arbiter.Retry(Idle(IdleOf(A, 10, 100), IdleOf(B, 20, 100))));
    }

    [Fact]
    public void Two_evictions_from_one_app_never_take_it_below_min_instances()
    {
        var arbiter = Arbiter(3, minA: 1);
        Fill(arbiter, A, 3);
        var idle = Idle(IdleOf(A, 1, 30), IdleOf(A, 2, 20), IdleOf(A, 3, 10));
        Assert.Equal([new Evict(A, new ProcessId(1))], arbiter.RequestSlot(B, 1, false, idle));
        Assert.Equal([new Evict(A, new ProcessId(2))], arbiter.RequestSlot(C, 2, false, idle));
        Assert.Empty(arbiter.RequestSlot(C, 3, false, idle));
    }

    [Fact]
    public void Released_slots_go_to_waiting_requests_in_order()
    {
        var arbiter = Arbiter(1);
        Fill(arbiter, A, 1);
        arbiter.RequestSlot(B, 1, false, Idle());
        arbiter.RequestSlot(C, 2, false, Idle());
        Assert.Equal([new Grant(B, 1)], arbiter.ReleaseSlot(A, null, Idle()));
        Assert.Equal([new Grant(C, 2)], arbiter.ReleaseSlot(B, null, Idle()));
        Assert.Equal(0, arbiter.Waiting);
    }

    [Fact]
    public void Replacement_is_denied_when_no_room_can_be_made_but_waits_for_an_eviction()
    {
        var arbiter = Arbiter(2, minA: 1, minB: 1);
        Fill(arbiter, A, 1);
        Fill(arbiter, B, 1);
        Assert.Equal([new Deny(A, 9)], arbiter.RequestSlot(A, 9, true, Idle(IdleOf(B, 20, 100))));
        Assert.Equal(0, arbiter.Waiting);

        var roomy = Arbiter(2, minA: 1, minB: 0);
        Fill(roomy, A, 1);
        Fill(roomy, B, 1);
        Assert.Equal([new Evict(B, new ProcessId(20))], roomy.RequestSlot(A, 9, true, Idle(IdleOf(B, 20, 100))));
    }

    [Fact]
    public void Refused_eviction_moves_on_to_the_next_idle_process()
    {
        var arbiter = Arbiter(2);
        Fill(arbiter, A, 2);
        var idle = Idle(IdleOf(A, 1, 100), IdleOf(A, 2, 10));
        Assert.Equal([new Evict(A, new ProcessId(1))], arbiter.RequestSlot(B, 1, false, idle));
        Assert.Equal([new Evict(A, new ProcessId(2))], arbiter.EvictionRefused(new ProcessId(1), Idle(IdleOf(A, 2, 10))));
    }

    [Fact]
    public void Retry_finds_a_process_that_turned_idle_later()
    {
        var arbiter = Arbiter(1);
        Fill(arbiter, A, 1);
        Assert.Empty(arbiter.RequestSlot(B, 1, false, Idle()));
        Assert.Empty(arbiter.Retry(Idle()));
        Assert.Equal([new Evict(A, new ProcessId(3))], arbiter.Retry(Idle(IdleOf(A, 3, 1))));
        // Already being evicted: asking again changes nothing.
        Assert.Empty(arbiter.Retry(Idle(IdleOf(A, 3, 1))));
    }

    [Fact]
    public void Reset_forgets_an_app_and_hands_its_room_to_waiting_requests()
    {
        var arbiter = Arbiter(2);
        Fill(arbiter, A, 2);
        arbiter.RequestSlot(B, 1, false, Idle());
        Assert.Equal([new Grant(B, 1)], arbiter.Reset(A, Idle()));
        Assert.Equal(0, arbiter.UsedBy(A));
        Assert.Equal(1, arbiter.Used);
    }
}
