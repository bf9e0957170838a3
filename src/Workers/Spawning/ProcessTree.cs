using System.Runtime.InteropServices;

namespace Porter.Workers.Spawning;

/// <summary>Signals a process and everything it started, using /proc to find descendants.</summary>
public static partial class ProcessTree
{
    public const int SigTerm = 15;
    public const int SigKill = 9;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    /// <summary>Sends the signal to the process and all its descendants (children first found, then the root).</summary>
    public static void Signal(int pid, int signal)
    {
        foreach (var p in DescendantsAndSelf(pid)) Kill(p, signal);
    }

    /// <summary>True while the PID exists and is not a zombie.</summary>
    public static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var state = stat[(stat.LastIndexOf(')') + 2)..].AsSpan()[0];
            return state != 'Z' && state != 'X';
        }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
    }

    /// <summary>The process start time in clock ticks since boot (field 22 of /proc/PID/stat); tells PID reuse apart.</summary>
    public static long? StartTime(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return long.Parse(fields[19], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    /// <summary>SIGTERM to the tree, then SIGKILL to whatever is still alive after the grace period.</summary>
    public static async Task TerminateAsync(int pid, TimeSpan grace, CancellationToken ct = default)
    {
        var tree = DescendantsAndSelf(pid);
        foreach (var p in tree) Kill(p, SigTerm);
        var deadline = DateTime.UtcNow + grace;
        while (DateTime.UtcNow < deadline && tree.Any(IsAlive))
        {
            try { await Task.Delay(25, ct); } catch (OperationCanceledException) { break; }
        }
        foreach (var p in tree.Where(IsAlive)) Kill(p, SigKill);
    }

    /// <summary>The PID and all its live descendants, found through the parent PIDs in /proc.</summary>
    public static List<int> DescendantsAndSelf(int root)
    {
        var children = new Dictionary<int, List<int>>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                var ppid = int.Parse(fields[1], System.Globalization.CultureInfo.InvariantCulture);
                if (!children.TryGetValue(ppid, out var list)) children[ppid] = list = new List<int>();
                list.Add(pid);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
            {
                // The process ended while we looked; it has no descendants to signal.
            }
        }
        var result = new List<int> { root };
        for (var i = 0; i < result.Count; i++)
            if (children.TryGetValue(result[i], out var kids)) result.AddRange(kids);
        return result;
    }
}
