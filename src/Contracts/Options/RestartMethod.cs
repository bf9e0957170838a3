namespace Porter.Contracts.Options;

/// <summary>How an app's processes are replaced when it restarts (tmp/restart.txt or a restart message).</summary>
public enum RestartMethod
{
    /// <summary>One process at a time, each successor ready before its predecessor stops taking requests.</summary>
    Rolling = 0,

    /// <summary>Every process stops first (in-flight requests finish), then new ones start; requests wait meanwhile.</summary>
    Blocking,
}
