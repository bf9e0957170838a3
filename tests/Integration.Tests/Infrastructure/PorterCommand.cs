using System.Diagnostics;

namespace Porter.Integration.Tests.Infrastructure;

/// <summary>Runs a porter command that is expected to end by itself (bad input, help) and returns its exit code and output.</summary>
public static class PorterCommand
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    public static Task<Result> RunAsync(params string[] args) => RunDllAsync(Repo.PorterDll, args);

    /// <summary>Runs the worker-only node program, porter-worker.</summary>
    public static Task<Result> RunWorkerAsync(params string[] args) => RunDllAsync(Repo.WorkerDll, args);

    private static async Task<Result> RunDllAsync(string dll, string[] args)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"porter {string.Join(' ', args)} did not exit");
        }
        return new Result(process.ExitCode, await stdout, await stderr);
    }
}
