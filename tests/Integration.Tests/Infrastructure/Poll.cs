namespace Porter.Integration.Tests.Infrastructure;

/// <summary>Bounded polling: tests wait for a condition, never for a fixed time.</summary>
public static class Poll
{
    public static async Task<T> UntilAsync<T>(Func<Task<T?>> probe, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        Exception? last = null;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                if (await probe() is { } value) return value;
            }
            catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException)
            {
                last = e;
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"timed out after {timeout.TotalSeconds} s waiting for {what}" + (last is null ? "" : $" (last error: {last.Message})"));
    }

    public static Task UntilAsync(Func<bool> condition, TimeSpan timeout, string what) =>
        UntilAsync<object>(() => Task.FromResult(condition() ? new object() : null), timeout, what);
}
