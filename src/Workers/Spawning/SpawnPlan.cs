using Porter.Contracts.Options;

namespace Porter.Workers.Spawning;

/// <summary>Everything needed to start one process of an app: the command, its folder and its environment.</summary>
public sealed record SpawnPlan(
    AppType AppType,
    string FileName,
    IReadOnlyList<string> Arguments,
    string WorkingDirectory,
    IReadOnlyDictionary<string, string> Environment)
{
    /// <summary>The command as a person would type it, for logs and error pages.</summary>
    public string DisplayCommand => Arguments.Count == 0 ? FileName : $"{FileName} {string.Join(' ', Arguments)}";
}
