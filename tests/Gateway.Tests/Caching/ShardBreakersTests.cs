using System.Threading.Channels;
using Akka.Actor;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Porter.CacheShard.Sharding;
using Porter.Gateway.Caching;

namespace Porter.Gateway.Tests.Caching;

/// <summary>The per-shard breakers with a fake clock and probes the test answers one by one.</summary>
public sealed class ShardBreakersTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);
    private static readonly Address NodeA = new("akka.tcp", "porter", "127.0.0.2", 4053);
    private static readonly Address NodeB = new("akka.tcp", "porter", "127.0.0.3", 4053);

    private readonly FakeTimeProvider _clock = new();
    private readonly Channel<(int Shard, TaskCompletionSource<string?> Answer)> _probes = Channel.CreateUnbounded<(int, TaskCompletionSource<string?>)>();
    private readonly ShardBreakers _breakers;

    public ShardBreakersTests()
    {
        _breakers = new ShardBreakers(new CacheMessageExtractor(8), (shard, _, cancellationToken) =>
        {
            var answer = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
            _probes.Writer.TryWrite((shard, answer));
            return answer.Task.WaitAsync(cancellationToken);
        }, _clock, NullLogger.Instance);
    }

    public void Dispose() => _breakers.Dispose();

    private async Task<(int Shard, TaskCompletionSource<string?> Answer)> NextProbeAsync()
    {
        using var timeout = new CancellationTokenSource(Patience);
        return await _probes.Reader.ReadAsync(timeout.Token);
    }

    private void AssertNoProbe() => Assert.False(_probes.Reader.TryRead(out _), "a probe was sent");

    /// <summary>
    /// Moves the fake clock by <paramref name="step"/> until the next probe is sent: the breakers' loop may reach its
    /// delay a moment after the test answered, and a timer created after an advance waits for the next one.
    /// </summary>
    private async Task<(int Shard, TaskCompletionSource<string?> Answer)> NextProbeAfterAsync(TimeSpan step)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            _clock.Advance(step);
            using var wait = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
            try
            {
                return await _probes.Reader.ReadAsync(wait.Token);
            }
            catch (OperationCanceledException) when (DateTime.UtcNow < deadline)
            {
            }
        }
    }

    private static Task Eventually(Func<bool> condition) => Task.Run(async () =>
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met in time");
            await Task.Delay(10);
        }
    });

    [Fact]
    public void Shards_start_closed_and_learn_their_home_from_answers()
    {
        Assert.False(_breakers.IsOpen(3));
        Assert.Null(_breakers.HomeOf(3));

        _breakers.Answered(3, NodeA.ToString());

        Assert.Equal(NodeA.ToString(), _breakers.HomeOf(3));
        Assert.False(_breakers.ReleaseToken(3).IsCancellationRequested);
        AssertNoProbe();
    }

    [Fact]
    public void A_shard_that_never_answered_gets_the_longer_first_answer_budget()
    {
        var budget = TimeSpan.FromMilliseconds(100);
        Assert.Equal(ShardBreakers.FirstAnswerBudget, _breakers.BudgetFor(1, budget));

        _breakers.Answered(1, NodeA.ToString());

        Assert.Equal(budget, _breakers.BudgetFor(1, budget));
    }

    [Fact]
    public async Task Trip_releases_waiting_requests_and_probes_in_the_background_until_an_answer_closes_the_shard()
    {
        var waiting = _breakers.ReleaseToken(5);

        _breakers.Trip(5, "a lookup ran out of its budget");

        Assert.True(_breakers.IsOpen(5));
        Assert.True(waiting.IsCancellationRequested);
        Assert.False(_breakers.ReleaseToken(5).IsCancellationRequested); // requests after the shard closes again get a fresh one
        Assert.False(_breakers.IsOpen(4));
        var first = await NextProbeAsync();
        Assert.Equal(5, first.Shard);

        first.Answer.SetResult(null); // not answered in time
        await Task.Delay(50);
        AssertNoProbe(); // the next waits for the probe interval
        var second = await NextProbeAfterAsync(ShardBreakers.ProbeInterval);
        Assert.True(_breakers.IsOpen(5));

        second.Answer.SetResult(NodeB.ToString());

        await Eventually(() => !_breakers.IsOpen(5));
        Assert.Equal(NodeB.ToString(), _breakers.HomeOf(5));
    }

    [Fact]
    public async Task A_probe_that_fails_is_retried_after_the_interval()
    {
        _breakers.Trip(2, "test");
        (await NextProbeAsync()).Answer.SetException(new TimeoutException());
        await Task.Delay(50);
        AssertNoProbe();

        Assert.Equal(2, (await NextProbeAfterAsync(ShardBreakers.ProbeInterval)).Shard);
    }

    [Fact]
    public async Task Tripping_an_open_shard_again_starts_no_second_probe()
    {
        _breakers.Trip(1, "first");
        await NextProbeAsync();

        _breakers.Trip(1, "second");

        await Task.Delay(50);
        AssertNoProbe();
    }

    [Theory]
    [InlineData(CacheNodeState.Unreachable)]
    [InlineData(CacheNodeState.Leaving)]
    [InlineData(CacheNodeState.Gone)]
    public async Task A_home_that_stops_answering_opens_all_its_shards_at_once_and_only_those(CacheNodeState state)
    {
        foreach (var shard in new[] { 0, 2, 4 }) _breakers.Answered(shard, NodeA.ToString());
        foreach (var shard in new[] { 1, 3 }) _breakers.Answered(shard, NodeB.ToString());
        var waitingOnA = _breakers.ReleaseToken(2);
        var waitingOnB = _breakers.ReleaseToken(3);

        _breakers.OnNodeChanged(new CacheNodeChanged(NodeA, state));

        Assert.All(new[] { 0, 2, 4 }, shard => Assert.True(_breakers.IsOpen(shard)));
        Assert.All(new[] { 1, 3, 5 }, shard => Assert.False(_breakers.IsOpen(shard)));
        Assert.True(waitingOnA.IsCancellationRequested);
        Assert.False(waitingOnB.IsCancellationRequested);
        var probed = new[] { (await NextProbeAsync()).Shard, (await NextProbeAsync()).Shard, (await NextProbeAsync()).Shard };
        Assert.Equal([0, 2, 4], probed.Order());
    }

    [Fact]
    public async Task A_home_that_is_reachable_again_is_probed_at_once()
    {
        _breakers.Answered(6, NodeA.ToString());
        _breakers.OnNodeChanged(new CacheNodeChanged(NodeA, CacheNodeState.Unreachable));
        (await NextProbeAsync()).Answer.SetResult(null);
        await Task.Delay(50);
        AssertNoProbe();

        _breakers.OnNodeChanged(new CacheNodeChanged(NodeA, CacheNodeState.Reachable));

        // No clock movement: the reachable event cut the probe interval short.
        var probe = await NextProbeAsync();
        Assert.Equal(6, probe.Shard);
        probe.Answer.SetResult(NodeA.ToString());
        await Eventually(() => !_breakers.IsOpen(6));
    }

    [Fact]
    public async Task A_probe_under_way_to_a_home_that_is_removed_is_cut_short_and_sent_again_at_once()
    {
        _breakers.Answered(6, NodeA.ToString());
        _breakers.OnNodeChanged(new CacheNodeChanged(NodeA, CacheNodeState.Unreachable));
        var lost = await NextProbeAsync(); // sent to the dead node: never answered

        _breakers.OnNodeChanged(new CacheNodeChanged(NodeA, CacheNodeState.Gone));

        // Without waiting for the lost probe's timeout or the clock: the shard has a new home to find.
        var again = await NextProbeAsync();
        Assert.Equal(6, again.Shard);
        Assert.False(lost.Answer.Task.IsCompleted);
        again.Answer.SetResult(NodeB.ToString());
        await Eventually(() => !_breakers.IsOpen(6));
        Assert.Equal(NodeB.ToString(), _breakers.HomeOf(6));
    }

    [Fact]
    public async Task Stopping_opens_every_shard_for_good_and_releases_every_waiting_request()
    {
        _breakers.Trip(7, "test");
        var probe = await NextProbeAsync();
        var waiting = _breakers.ReleaseToken(0);

        _breakers.StopUsingEntities();

        Assert.All(Enumerable.Range(0, 8), shard => Assert.True(_breakers.IsOpen(shard)));
        Assert.True(waiting.IsCancellationRequested);
        probe.Answer.SetResult(NodeA.ToString());
        await Task.Delay(50);
        Assert.True(_breakers.IsOpen(7));
        _clock.Advance(ShardBreakers.ProbeInterval * 4);
        await Task.Delay(50);
        AssertNoProbe();
    }
}
