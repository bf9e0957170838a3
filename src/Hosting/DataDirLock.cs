using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Porter.Hosting;

/// <summary>
/// An exclusive <c>flock</c> on <c>DATA_DIR/porter.lock</c>, held for the node process's life: a second node given the same
/// data dir refuses to start instead of sharing (and ending) the first one's PID records. The kernel drops the lock when the
/// process dies, however it dies, and app processes never inherit it (.NET opens files close-on-exec), so a node restarted
/// after <c>kill -9</c> gets it back while its orphans still run.
/// </summary>
public sealed partial class DataDirLock : IDisposable
{
    public const string LockFileName = "porter.lock";

    /// <summary>The holder's PID, written after the lock is taken; read only to name the holder in the refusal.</summary>
    public const string PidFileName = "porter.pid";

    private const int LockExclusive = 2;
    private const int LockNonBlocking = 4;

    private readonly SafeFileHandle _handle;

    private DataDirLock(SafeFileHandle handle) => _handle = handle;

    /// <summary>The data dir is locked by another live process.</summary>
    public sealed class InUseException(string dataDir, int? holderPid) : Exception(
        $"the data dir {dataDir} is in use by another Porter node{(holderPid is { } pid ? string.Create(CultureInfo.InvariantCulture, $" (PID {pid})") : "")}; give each node on this host its own --data-dir");

    /// <summary>Creates the data dir if needed and locks it.</summary>
    /// <exception cref="InUseException">Another process holds the lock.</exception>
    public static DataDirLock Acquire(string dataDir)
    {
        Directory.CreateDirectory(dataDir);
        var path = Path.Combine(dataDir, LockFileName);
        SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite);
        }
        catch (IOException) when (File.Exists(path))
        {
            // .NET takes a shared flock of its own on open: it fails while another node holds ours.
            throw new InUseException(dataDir, HolderPid(dataDir));
        }
        // Explicitly, so the lock holds even where .NET's own file locking is turned off (DOTNET_SYSTEM_IO_DISABLEFILELOCKING).
        if (Flock((int)handle.DangerousGetHandle(), LockExclusive | LockNonBlocking) != 0)
        {
            handle.Dispose();
            throw new InUseException(dataDir, HolderPid(dataDir));
        }
        File.WriteAllText(Path.Combine(dataDir, PidFileName), Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "\n");
        return new DataDirLock(handle);
    }

    private static int? HolderPid(string dataDir)
    {
        try
        {
            return int.TryParse(File.ReadAllText(Path.Combine(dataDir, PidFileName)).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                ? pid
                : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public void Dispose() => _handle.Dispose();

    [LibraryImport("libc", EntryPoint = "flock", SetLastError = true)]
    private static partial int Flock(int fd, int operation);
}
