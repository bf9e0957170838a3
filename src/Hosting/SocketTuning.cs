namespace Porter.Hosting;

/// <summary>
/// Sockets for a proxy on few cores: the runtime runs socket completions inline on its epoll threads instead of
/// queueing each to the thread pool (bench/NOTES.md: cache hits +8%, forwarded requests +5% on 2 cores). Kestrel
/// still hands requests to its own I/O queues: running them inline on the epoll threads as well (its
/// UnsafePreferInlineScheduling) gained another 13% of hits but doubled p99 latency, since a connection then waits
/// behind every other connection of its epoll thread. Nothing that runs as a socket continuation may block a thread.
/// </summary>
public static class SocketTuning
{
    /// <summary>The runtime's switch, read once, from the environment only, when the first socket engine starts.</summary>
    public const string InlineCompletionsVariable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    private static bool _setByPorter;

    /// <summary>
    /// Turns inline completions on for this process unless the operator set the variable (0 keeps them off). Call it
    /// first in a node program, before any asynchronous socket operation.
    /// </summary>
    public static void PreferInlineCompletions()
    {
        if (Environment.GetEnvironmentVariable(InlineCompletionsVariable) is not null) return;
        Environment.SetEnvironmentVariable(InlineCompletionsVariable, "1");
        _setByPorter = true;
    }

    /// <summary>Keeps Porter's own choice out of an app process's environment: apps get the runtime's defaults.</summary>
    public static void ForChildProcess(IDictionary<string, string?> environment)
    {
        if (_setByPorter) environment.Remove(InlineCompletionsVariable);
    }
}
