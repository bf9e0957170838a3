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
        pool.Add(Endpoint(1));
        pool.Remove(new ProcessId(1));
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
}
