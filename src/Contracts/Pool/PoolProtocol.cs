using Porter.Contracts.Ids;
using Porter.Contracts.Options;

namespace Porter.Contracts.Pool;

/// <summary>Marker for messages a worker node's pool manager answers; the cluster serializer binds to it.</summary>
public interface IPoolMessage;

/// <summary>Messages to a worker node's pool (the PoolManager actor) and its replies.</summary>
public static class PoolProtocol
{
    /// <summary>Restarts an app's processes; <paramref name="Method"/> overrides the app's configured restart method.</summary>
    public sealed record RestartApp(AppName App, RestartMethod? Method = null) : IPoolMessage;

    /// <summary>Reply to <see cref="RestartApp"/>: the restart has begun with this method.</summary>
    public sealed record RestartStarted(AppName App, RestartMethod Method) : IPoolMessage;

    /// <summary>Reply when a message names an app this node does not serve.</summary>
    public sealed record UnknownApp(AppName App) : IPoolMessage;

    /// <summary>Asks for a <see cref="PoolState"/> snapshot of every app on the node.</summary>
    public sealed record GetPoolState : IPoolMessage
    {
        public static readonly GetPoolState Instance = new();
    }
}
