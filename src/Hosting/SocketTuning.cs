namespace Porter.Hosting;

/// <summary>
/// Sockets for a proxy on few cores: the runtime runs socket completions inline on its epoll threads, and Kestrel runs
/// requests there too, which saves two thread-pool hops per request (bench/NOTES.md: about +15% cache hits and +5%
/// forwarded requests on 2 cores; inline scheduling alone measured no better). That is safe only because nothing on
/// Porter's request path blocks a thread.
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

    /// <summary>Whether this process runs socket completions inline; Kestrel's inline scheduling follows it.</summary>
    public static bool InlineCompletions => Environment.GetEnvironmentVariable(InlineCompletionsVariable) == "1";

    /// <summary>Keeps Porter's own choice out of an app process's environment: apps get the runtime's defaults.</summary>
    public static void ForChildProcess(IDictionary<string, string?> environment)
    {
        if (_setByPorter) environment.Remove(InlineCompletionsVariable);
    }
}
