using System.Globalization;
using System.Runtime.InteropServices;

namespace Porter.Workers.Spawning;

/// <summary>Memory and CPU of an app process and everything it started, read from /proc.</summary>
public static partial class ProcessMetrics
{
    /// <summary>Resident memory and CPU time used so far by a process tree.</summary>
    public readonly record struct Sample(long RssBytes, TimeSpan CpuTime);

    private const int ScClkTck = 2;

    [LibraryImport("libc", EntryPoint = "sysconf")]
    private static partial long SysConf(int name);

    private static readonly Lazy<long> ClockTicksPerSecond = new(() =>
    {
        try { return SysConf(ScClkTck) is var ticks and > 0 ? ticks : 100; }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return 100; }
    });

    /// <summary>
    /// Sums VmRSS and utime+stime over the process and its descendants (a shell wrapper or a forking server counts
    /// with its children); null when the process is gone.
    /// </summary>
    public static Sample? Read(int pid)
    {
        if (!ProcessTree.IsAlive(pid)) return null;
        long rssKb = 0, ticks = 0;
        foreach (var p in ProcessTree.DescendantsAndSelf(pid))
        {
            rssKb += StatusKb(p, "VmRSS:");
            ticks += CpuTicks(p);
        }
        return new Sample(rssKb * 1024, TimeSpan.FromSeconds((double)ticks / ClockTicksPerSecond.Value));
    }

    /// <summary>Resident memory of the process tree in bytes, or null when the process is gone.</summary>
    public static long? RssBytes(int pid) => Read(pid)?.RssBytes;

    private static long StatusKb(int pid, string field)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
                if (line.StartsWith(field, StringComparison.Ordinal))
                    return long.Parse(line.AsSpan(field.Length).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            // Gone while we read, or a kernel thread without memory fields.
        }
        return 0;
    }

    private static long CpuTicks(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // Fields 14 and 15 of stat (utime, stime), counted from the state field at index 0.
            return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return 0;
        }
    }
}
