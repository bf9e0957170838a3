using System.Globalization;

namespace Porter.Integration.Tests.Oob;

/// <summary>
/// The log testapp's OOB endpoint appends to ($OOB_LOG): one line per run, "pid start_ns end_ns token inflight", on
/// CLOCK_MONOTONIC (the test's Stopwatch clock on Linux), shared by every process of every node on the machine.
/// </summary>
public static class OobRunLog
{
    public sealed record Run(int Pid, long StartNs, long EndNs, long Token, int InFlight);

    /// <summary>The complete lines of the log (each is one O_APPEND write; a line being written is left for the next read).</summary>
    public static List<Run> Read(string log) => File.ReadAllText(log).Split('\n')[..^1]
        .Select(line => line.Split(' '))
        .Select(parts => new Run(int.Parse(parts[0], CultureInfo.InvariantCulture), long.Parse(parts[1], CultureInfo.InvariantCulture),
            long.Parse(parts[2], CultureInfo.InvariantCulture), long.Parse(parts[3], CultureInfo.InvariantCulture),
            int.Parse(parts[4], CultureInfo.InvariantCulture)))
        .ToList();

    /// <summary>No run began before the previous one (in start order) ended: at most one at a time.</summary>
    public static void AssertNoOverlap(IEnumerable<Run> runs)
    {
        var ordered = runs.OrderBy(r => r.StartNs).ToList();
        for (var i = 1; i < ordered.Count; i++)
            Assert.True(ordered[i].StartNs >= ordered[i - 1].EndNs,
                $"OOB runs overlap: pid {ordered[i - 1].Pid} [{ordered[i - 1].StartNs}, {ordered[i - 1].EndNs}] and pid {ordered[i].Pid} [{ordered[i].StartNs}, {ordered[i].EndNs}]");
    }
}
