using System.Net;
using System.Net.Sockets;

namespace Porter.Integration.Tests.Infrastructure;

/// <summary>Paths inside the repository and small helpers shared by the integration tests.</summary>
public static class Repo
{
    /// <summary>The repository root (the folder holding Cluster.sln).</summary>
    public static string Root { get; } = FindRoot();

    public static string Example(string name) => Path.Combine(Root, "examples", name);

    public static string TestApp => Path.Combine(Root, "tests", "apps", "testapp");

    /// <summary>porter.dll as built next to the tests (the Gateway project is referenced).</summary>
    public static string PorterDll => Path.Combine(AppContext.BaseDirectory, "porter.dll");

    /// <summary>porter-worker.dll, the worker-only node program, built next to the tests as well.</summary>
    public static string WorkerDll => Path.Combine(AppContext.BaseDirectory, "porter-worker.dll");

    /// <summary>A fresh folder under the system temp dir, for data dirs and throwaway apps.</summary>
    public static string TempDir(string prefix)
    {
        var dir = Path.Combine(Path.GetTempPath(), "porter-tests", $"{prefix}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>
    /// A port free on 127.0.0.1 now, from below the OS's ephemeral range (32768+) and never handed out twice in a
    /// run. Ports the OS picks by itself (app processes, remoting on port 0, outgoing connections) therefore can never
    /// take it between this call and the node binding it.
    /// </summary>
    public static int FreePort() => FreePortOnAll("127.0.0.1");

    private static readonly HashSet<int> HandedOut = new();

    // PORTER_TEST_PORTS=FIRST-LAST narrows the range, so that several test runs on one machine never pick the same port.
    private static readonly (int First, int Count) Ports = PortRange(Environment.GetEnvironmentVariable("PORTER_TEST_PORTS"));
    private static int FirstPort => Ports.First;
    private static int PortCount => Ports.Count;

    private static (int First, int Count) PortRange(string? setting)
    {
        if (string.IsNullOrWhiteSpace(setting)) return (20000, 12000);
        var bounds = setting.Split('-', 2);
        if (bounds.Length == 2 && int.TryParse(bounds[0], out var first) && int.TryParse(bounds[1], out var last)
            && first >= 1024 && last >= first + 99 && last < 32768)
            return (first, last - first + 1);
        throw new InvalidOperationException($"PORTER_TEST_PORTS must be FIRST-LAST within 1024-32767 with at least 100 ports (got '{setting}')");
    }

    /// <summary>A port free on every one of the given loopback addresses, so simulated pods can all use the same port.</summary>
    public static int FreePortOnAll(params string[] addresses)
    {
        for (var attempt = 0; ; attempt++)
        {
            int port;
            lock (HandedOut)
            {
                do port = FirstPort + Random.Shared.Next(PortCount);
                while (!HandedOut.Add(port));
            }
            var listeners = new List<TcpListener>();
            try
            {
                foreach (var address in addresses)
                {
                    var listener = new TcpListener(IPAddress.Parse(address), port);
                    listener.Start();
                    listeners.Add(listener);
                }
                return port;
            }
            catch (SocketException) when (attempt < 50)
            {
            }
            finally
            {
                foreach (var listener in listeners) listener.Stop();
            }
        }
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Cluster.sln"))) return dir.FullName;
        throw new InvalidOperationException("Cluster.sln not found above " + AppContext.BaseDirectory);
    }
}
