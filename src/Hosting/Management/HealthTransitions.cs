using System.Collections.Concurrent;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;

namespace Porter.Hosting.Management;

/// <summary>
/// Logs a health route's status when it changes (starting, ready, no longer ready), with the failing checks' reasons,
/// so probes that poll every few seconds leave one line per change in the log instead of one per poll.
/// </summary>
public sealed class HealthTransitions(ILogger<HealthTransitions> logger)
{
    private readonly ConcurrentDictionary<string, HealthStatus> _last = new(StringComparer.Ordinal);

    public void Observe(string route, HealthReport report)
    {
        var seen = _last.TryGetValue(route, out var previous);
        if (seen && previous == report.Status) return;
        _last[route] = report.Status;
        if (report.Status == HealthStatus.Healthy)
        {
            logger.LogInformation("Health check {Route}: {Status}", route, report.Status);
            return;
        }
        var reasons = string.Join("; ", report.Entries
            .Where(e => e.Value.Status != HealthStatus.Healthy)
            .Select(e => $"{e.Key}: {e.Value.Description ?? e.Value.Exception?.Message ?? e.Value.Status.ToString()}"));
        // Not healthy before it ever was is a node starting up; after it was, something went wrong.
        logger.Log(seen && previous == HealthStatus.Healthy ? LogLevel.Warning : LogLevel.Information,
            "Health check {Route}: {Status} ({Reasons})", route, report.Status, reasons);
    }
}
