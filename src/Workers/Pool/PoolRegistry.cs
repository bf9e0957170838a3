using System.Collections.Frozen;
using Porter.Contracts.Ids;
using Porter.Contracts.Options;

namespace Porter.Workers.Pool;

/// <summary>The pools of every app this node serves, shared by the supervisors (writers) and the dispatcher (readers).</summary>
public sealed class PoolRegistry
{
    private readonly FrozenDictionary<string, AppPool> _pools;

    public PoolRegistry(PorterOptions options)
    {
        _pools = options.Apps.ToFrozenDictionary(
            app => app.Name,
            app => new AppPool(app.AppName,
                new AppPool.Limits(
                    app.MaxRequestQueueSize,
                    TimeSpan.FromSeconds(app.MaxRequestQueueTime),
                    TimeSpan.FromSeconds(options.RequestWaitTimeout)),
                new RestartTrigger(app.Root, TimeSpan.FromSeconds(app.StatThrottleRate)))
            {
                OobWorkEvery = app.OobWorkEvery,
            },
            StringComparer.Ordinal);
    }

    public AppPool? Find(AppName app) => _pools.GetValueOrDefault(app.Value);

    public IEnumerable<AppPool> All => _pools.Values;
}
