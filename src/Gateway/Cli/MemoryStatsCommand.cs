using System.Globalization;
using System.Text;
using Porter.Hosting.Cli;

namespace Porter.Gateway.Cli;

/// <summary>
/// <c>porter memory-stats</c>, as Passenger's <c>passenger-memory-stats</c>: Porter's node processes, then every app
/// process and its children, with PID, PPID, VMSize, Private, Resident and name, and totals, read straight from
/// <c>/proc</c>. It asks no node anything, so it answers when a node is wedged. App processes are the node processes'
/// descendants, plus the live PIDs recorded in each node's data dir (and in any <c>--data-dir</c> given), which finds
/// an app whose node was killed.
/// </summary>
public static class MemoryStatsCommand
{
    private static readonly string[] NodeVerbs = ["start", "gateway", "worker"];

    /// <summary>One process as /proc describes it; memory in KiB (null when unreadable).</summary>
    public sealed record ProcessInfo(int Pid, int Ppid, string Name, string[] Args, long? VmSizeKb, long? PrivateKb, long? ResidentKb);

    public static int Run(string[] args)
    {
        var dataDirs = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--data-dir" when i + 1 < args.Length:
                    dataDirs.Add(args[++i]);
                    break;
                case var a when a.StartsWith("--data-dir=", StringComparison.Ordinal):
                    dataDirs.Add(a["--data-dir=".Length..]);
                    break;
                case "-h" or "--help":
                    Console.WriteLine("Usage: porter memory-stats [--data-dir DIR]...\n\nPorter's node processes and their app processes (with children), from /proc: PID, PPID, VMSize, Private, Resident, name.\n--data-dir adds the app processes recorded in that data dir (a node that is gone leaves them there).");
                    return NodeProgram.ExitOk;
                default:
                    return NodeProgram.Fail($"unknown memory-stats option '{args[i]}' (see 'porter memory-stats --help')", NodeProgram.ExitUsage);
            }
        }
        if (!Directory.Exists("/proc/self"))
            return NodeProgram.Fail("memory-stats reads /proc, which this system does not have", NodeProgram.ExitFailure);
        Console.Write(Render(Collect(dataDirs)));
        return NodeProgram.ExitOk;
    }

    /// <summary>The node processes and the app processes (each with its app's name when a PID record names it).</summary>
    public sealed record Report(IReadOnlyList<ProcessInfo> Nodes, IReadOnlyList<(ProcessInfo Process, string? App)> Apps);

    public static Report Collect(IEnumerable<string> extraDataDirs)
    {
        var all = new Dictionary<int, ProcessInfo>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
            if (int.TryParse(Path.GetFileName(dir), out var pid) && Read(pid) is { } info) all[pid] = info;

        var self = Environment.ProcessId;
        var nodes = all.Values.Where(p => p.Pid != self && IsNode(p.Args)).OrderBy(p => p.Pid).ToList();
        var children = all.Values.GroupBy(p => p.Ppid).ToDictionary(g => g.Key, g => g.Select(p => p.Pid).ToList());

        // What the PID records say: app name by PID, from every node's data dir and the ones given.
        var recorded = new Dictionary<int, string?>();
        foreach (var dir in nodes.Select(n => Flag(n.Args, "--data-dir")).OfType<string>().Concat(extraDataDirs).Distinct())
            foreach (var (pid, app) in Records(dir)) recorded[pid] = app;

        var roots = nodes.SelectMany(n => children.GetValueOrDefault(n.Pid) ?? []).Concat(recorded.Keys).Where(all.ContainsKey).ToList();
        var apps = new List<(ProcessInfo, string?)>();
        var seen = new HashSet<int>(nodes.Select(n => n.Pid));
        foreach (var root in roots)
        {
            var app = recorded.GetValueOrDefault(root);
            var tree = new List<int> { root };
            for (var i = 0; i < tree.Count; i++) tree.AddRange(children.GetValueOrDefault(tree[i]) ?? []);
            foreach (var pid in tree)
                if (seen.Add(pid)) apps.Add((all[pid], recorded.GetValueOrDefault(pid) ?? app));
        }
        return new Report(nodes, apps.OrderBy(a => a.Item1.Pid).ToList());
    }

    /// <summary>A node program's command line: <c>dotnet porter.dll VERB</c> or the apphost <c>porter VERB</c> (and porter-worker).</summary>
    private static bool IsNode(string[] args)
    {
        if (args.Length < 2) return false;
        static bool IsPorter(string path) => Path.GetFileName(path) is "porter.dll" or "porter-worker.dll" or "porter" or "porter-worker";
        var program = Path.GetFileName(args[0]) == "dotnet" ? 1 : 0;
        return args.Length > program + 1 && IsPorter(args[program]) && NodeVerbs.Contains(args[program + 1]);
    }

    private static string? Flag(string[] args, string name)
    {
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == name && i + 1 < args.Length) return args[i + 1];
            if (args[i].StartsWith(name + "=", StringComparison.Ordinal)) return args[i][(name.Length + 1)..];
        }
        return null;
    }

    /// <summary>PID records (<c>DATA_DIR/pids/PID</c>: start time, app name, owner): PID and app.</summary>
    private static IEnumerable<(int Pid, string? App)> Records(string dataDir)
    {
        var dir = Path.Combine(dataDir, "pids");
        if (!Directory.Exists(dir)) yield break;
        foreach (var file in Directory.EnumerateFiles(dir))
        {
            if (!int.TryParse(Path.GetFileName(file), out var pid)) continue;
            string? app;
            try { app = File.ReadLines(file).Skip(1).FirstOrDefault(); }
            catch (IOException) { continue; }
            yield return (pid, app);
        }
    }

    private static ProcessInfo? Read(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var name = stat[(stat.IndexOf('(') + 1)..stat.LastIndexOf(')')];
            var ppid = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], CultureInfo.InvariantCulture);
            var args = File.ReadAllText($"/proc/{pid}/cmdline").Split('\0', StringSplitOptions.RemoveEmptyEntries);
            long? vmSize = null, resident = null;
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmSize:", StringComparison.Ordinal)) vmSize = Kb(line);
                else if (line.StartsWith("VmRSS:", StringComparison.Ordinal)) resident = Kb(line);
            }
            return new ProcessInfo(pid, ppid, name, args, vmSize, PrivateKb(pid), resident);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException or ArgumentOutOfRangeException)
        {
            // Gone while we read it.
            return null;
        }
    }

    /// <summary>Private_Clean + Private_Dirty from smaps_rollup: the memory only this process holds (null when unreadable).</summary>
    private static long? PrivateKb(int pid)
    {
        try
        {
            long total = 0;
            var found = false;
            foreach (var line in File.ReadLines($"/proc/{pid}/smaps_rollup"))
            {
                if (!line.StartsWith("Private_Clean:", StringComparison.Ordinal) && !line.StartsWith("Private_Dirty:", StringComparison.Ordinal)) continue;
                total += Kb(line);
                found = true;
            }
            return found ? total : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static long Kb(string line) =>
        long.Parse(line.AsSpan(line.IndexOf(':') + 1).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture);

    public static string Render(Report report)
    {
        var text = new StringBuilder();
        Section(text, "Porter node processes", report.Nodes.Select(n => (n, NodeName(n))).ToList());
        text.AppendLine();
        Section(text, "Application processes", report.Apps.Select(a => (a.Process, (a.App is null ? "" : $"[{a.App}] ") + CommandLine(a.Process))).ToList());
        return text.ToString();
    }

    private static string NodeName(ProcessInfo node)
    {
        var args = node.Args;
        var program = Path.GetFileName(args[0]) == "dotnet" ? 1 : 0;
        var verb = args[program + 1];
        var kind = verb == "start" ? "standalone" : verb;
        return $"porter {kind} node ({Truncate(string.Join(' ', args.Skip(program + 2)), 60)})";
    }

    private static string CommandLine(ProcessInfo p) => Truncate(p.Args.Length > 0 ? string.Join(' ', p.Args) : p.Name, 80);

    private static string Truncate(string s, int max) => s.Length <= max ? s : s[..(max - 1)] + "…";

    private static void Section(StringBuilder text, string title, IReadOnlyList<(ProcessInfo Process, string Name)> rows)
    {
        text.AppendLine(CultureInfo.InvariantCulture, $"--------- {title} ---------");
        text.AppendLine(CultureInfo.InvariantCulture, $"{"PID",-8} {"PPID",-8} {"VMSize",11} {"Private",11} {"Resident",11}  Name");
        foreach (var (p, name) in rows)
            text.AppendLine(CultureInfo.InvariantCulture, $"{p.Pid,-8} {p.Ppid,-8} {Mb(p.VmSizeKb),11} {Mb(p.PrivateKb),11} {Mb(p.ResidentKb),11}  {name}");
        text.AppendLine(CultureInfo.InvariantCulture, $"### Processes: {rows.Count}");
        text.AppendLine(CultureInfo.InvariantCulture, $"### Total private: {Mb(rows.Sum(r => r.Process.PrivateKb ?? 0))}, resident: {Mb(rows.Sum(r => r.Process.ResidentKb ?? 0))}");
    }

    private static string Mb(long? kb) =>
        kb is { } k ? string.Create(CultureInfo.InvariantCulture, $"{k / 1024.0:0.0} MB") : "?";
}
