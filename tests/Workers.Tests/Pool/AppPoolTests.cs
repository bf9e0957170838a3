using Porter.Contracts.Ids;
using Porter.Workers.Pool;

namespace Porter.Workers.Tests.Pool;

public sealed class AppPoolTests
{
    private static AppPool NewPool(int maxQueue = 100, double queueTime = 0, double noProcess = 30) =>
        new(new AppName("app"), new AppPool.Limits(maxQueue, TimeSpan.FromSeconds(queueTime), TimeSpan.FromSeconds(noProcess)));

    private static ProcessEndpoint Endpoint(int pid, int concurrency = 0) => new(new ProcessId(pid), 10000 + pid, concurrency);

    [Fact]
    public async Task Picks_the_least_busy_process()
    {
        var pool = NewPool();
        var a = Endpoint(1);
        var b = Endpoint(2);
        pool.Add(a);
        pool.Add(b);
        var first = (await pool.AcquireAsync(null, default)).Endpoint;
        var second = (await pool.AcquireAsync(null, default)).Endpoint;
        Assert.NotSame(first, second);
        pool.Release(first!);
        Assert.Same(first, (await pool.AcquireAsync(null, default)).Endpoint);
    }

    [Fact]
    public async Task A_full_process_gets_no_more_requests_and_the_queue_is_fifo()
    {
        var pool = NewPool();
        var only = Endpoint(1, concurrency: 1);
        pool.Add(only);
        var holder = await pool.AcquireAsync(null, default);
        var first = pool.AcquireAsync(null, default).AsTask();
        var second = pool.AcquireAsync(null, default).AsTask();
        Assert.False(first.IsCompleted);
        Assert.Equal(2, pool.QueueLength);
        Assert.Equal(1, only.Sessions);

        pool.Release(holder.Endpoint!);
        Assert.Same(only, (await first).Endpoint);
        Assert.False(second.IsCompleted);
        pool.Release(only);
        Assert.Same(only, (await second).Endpoint);
        Assert.Equal(0, pool.QueueLength);
    }

    [Fact]
    public async Task Overflowing_the_queue_is_refused()
    {
        var pool = NewPool(maxQueue: 1);
        pool.Add(Endpoint(1, concurrency: 1));
        await pool.AcquireAsync(null, default);
        var queued = pool.AcquireAsync(null, default);
        var overflow = await pool.AcquireAsync(null, default);
        Assert.Equal(AcquireFailure.QueueFull, overflow.Failure);
        Assert.False(queued.IsCompleted);
    }

    [Fact]
    public async Task Waiting_past_the_queue_time_is_a_timeout()
    {
        var pool = NewPool(queueTime: 0.05);
        pool.Add(Endpoint(1, concurrency: 1));
        await pool.AcquireAsync(null, default);
        var result = await pool.AcquireAsync(null, default);
        Assert.Equal(AcquireFailure.QueueTimeout, result.Failure);
        Assert.Equal(0, pool.QueueLength);
    }

    [Fact]
    public async Task No_process_in_time_is_unavailable_with_the_last_cause()
    {
        var pool = NewPool(noProcess: 0.05);
        pool.NoteFailure(new AppPool.Failure("exited with code 3", ["boom"]));
        var result = await pool.AcquireAsync(null, default);
        Assert.Equal(AcquireFailure.Unavailable, result.Failure);
        Assert.Equal("exited with code 3", result.Cause!.Reason);
    }

    [Fact]
    public async Task Marking_failing_releases_waiters_at_once_and_a_ready_process_clears_it()
    {
        var pool = NewPool();
        var waiting = pool.AcquireAsync(null, default).AsTask();
        pool.MarkFailing(new AppPool.Failure("crash loop", []));
        Assert.Equal(AcquireFailure.Unavailable, (await waiting).Failure);
        Assert.Equal(AcquireFailure.Unavailable, (await pool.AcquireAsync(null, default)).Failure);

        pool.Add(Endpoint(1));
        Assert.Null(pool.CurrentFailure);
        Assert.NotNull((await pool.AcquireAsync(null, default)).Endpoint);
    }

    [Fact]
    public async Task A_new_process_serves_requests_that_waited_for_one()
    {
        var pool = NewPool();
        var waiting = pool.AcquireAsync(null, default).AsTask();
        Assert.False(waiting.IsCompleted);
        var endpoint = Endpoint(7);
        pool.Add(endpoint);
        Assert.Same(endpoint, (await waiting).Endpoint);
    }

    [Fact]
    public async Task Retry_avoids_the_process_that_failed_when_another_exists()
    {
        var pool = NewPool();
        var a = Endpoint(1);
        var b = Endpoint(2);
        pool.Add(a);
        pool.Add(b);
        for (var i = 0; i < 5; i++)
        {
            var r = await pool.AcquireAsync(a, default);
            Assert.Same(b, r.Endpoint);
            pool.Release(b);
        }
    }

    [Fact]
    public async Task Removed_process_is_not_routed_to()
    {
        var pool = NewPool(noProcess: 0.05);
        var endpoint = Endpoint(1);
        pool.Add(endpoint);
        pool.Remove(endpoint);
        Assert.Equal(AcquireFailure.Unavailable, (await pool.AcquireAsync(null, default)).Failure);
    }

    [Fact]
    public async Task Cancelled_waiter_leaves_the_queue()
    {
        var pool = NewPool();
        using var cts = new CancellationTokenSource();
        var waiting = pool.AcquireAsync(null, cts.Token).AsTask();
        Assert.Equal(1, pool.QueueLength);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        Assert.Equal(0, pool.QueueLength);
    }

    [Fact]
    public async Task Sticky_request_goes_to_its_process_even_when_it_is_busier()
    {
        var pool = NewPool();
        var a = Endpoint(1);
        var b = Endpoint(2);
        pool.Add(a);
        pool.Add(b);
        await pool.AcquireAsync(null, a, default);
        Assert.Same(a, (await pool.AcquireAsync(null, pool.FindRoute(a.RouteId), default)).Endpoint);
        Assert.Equal(2, a.Sessions);
        Assert.Equal(0, b.Sessions);
    }

    [Fact]
    public async Task Sticky_request_waits_for_its_full_process_without_holding_up_others()
    {
        var pool = NewPool();
        var a = Endpoint(1, concurrency: 1);
        var b = Endpoint(2, concurrency: 1);
        pool.Add(a);
        pool.Add(b);
        var onA = (await pool.AcquireAsync(null, a, default)).Endpoint!;
        var sticky = pool.AcquireAsync(null, a, default).AsTask();
        Assert.False(sticky.IsCompleted);
        Assert.Equal(0, pool.ScalableQueueLength);
        // A request for any process is served by b, although the sticky one queued first.
        Assert.Same(b, (await pool.AcquireAsync(null, default)).Endpoint);
        pool.Release(onA);
        Assert.Same(a, (await sticky).Endpoint);
    }

    [Fact]
    public async Task Sticky_request_whose_process_leaves_goes_to_another()
    {
        var pool = NewPool();
        var a = Endpoint(1, concurrency: 1);
        var b = Endpoint(2, concurrency: 1);
        pool.Add(a);
        pool.Add(b);
        await pool.AcquireAsync(null, a, default);
        var onB = (await pool.AcquireAsync(null, b, default)).Endpoint!;
        var sticky = pool.AcquireAsync(null, a, default).AsTask();
        pool.Remove(a);
        Assert.Null(pool.FindRoute(a.RouteId));
        pool.Release(onB);
        Assert.Same(b, (await sticky).Endpoint);
    }

    [Fact]
    public async Task Removed_process_takes_no_request_even_when_named_directly()
    {
        var pool = NewPool(noProcess: 0.05);
        var a = Endpoint(1);
        pool.Add(a);
        pool.Remove(a);
        Assert.True(a.IsDisabled);
        Assert.Equal(AcquireFailure.Unavailable, (await pool.AcquireAsync(null, a, default)).Failure);
        Assert.Equal(0, a.Sessions);
    }

    [Fact]
    public async Task Reaching_max_requests_asks_for_recycling_once_and_steers_requests_elsewhere()
    {
        var pool = NewPool();
        var recycled = new List<ProcessEndpoint>();
        pool.RecycleDue += recycled.Add;
        var a = new ProcessEndpoint(new ProcessId(1), 10001, 0, maxRequests: 2);
        pool.Add(a);
        for (var i = 0; i < 2; i++) pool.Release((await pool.AcquireAsync(null, default)).Endpoint!);
        Assert.Equal([a], recycled);
        Assert.True(a.IsRecycling);

        // Alone, it keeps serving until its successor is routable; then the successor gets the requests.
        pool.Release((await pool.AcquireAsync(null, default)).Endpoint!);
        Assert.Equal([a], recycled);
        var successor = Endpoint(2);
        pool.Add(successor);
        var held = (await pool.AcquireAsync(null, default)).Endpoint!;
        Assert.Same(successor, held);
        Assert.Same(successor, (await pool.AcquireAsync(null, default)).Endpoint);
    }

    [Fact]
    public async Task Queued_event_fires_only_for_requests_any_new_process_could_serve()
    {
        var pool = NewPool();
        var queued = 0;
        pool.Queued += () => queued++;
        var a = Endpoint(1, concurrency: 1);
        pool.Add(a);
        await pool.AcquireAsync(null, default);
        _ = pool.AcquireAsync(null, a, default);
        Assert.Equal(0, queued);
        _ = pool.AcquireAsync(null, default);
        Assert.Equal(1, queued);
        Assert.Equal(2, pool.QueueLength);
        Assert.Equal(1, pool.ScalableQueueLength);
    }
}
