using Porter.Contracts.Options;

namespace Porter.Workers.Spawning;

/// <summary>Works out how to start an app from its root, the way Passenger does.</summary>
public static class AppTypeDetector
{
    /// <summary>Thrown when the app root does not tell how to start the app.</summary>
    public sealed class UndetectableAppException(string message) : Exception(message);

    /// <summary>The type the app will run as: the configured one, else detected from the files in the root.</summary>
    /// <summary>For the options loader: an app whose type cannot be told is a configuration error (one line, exit 2).</summary>
    public static void CheckDetectable(AppOptions app)
    {
        try
        {
            Detect(app);
        }
        catch (UndetectableAppException e)
        {
            throw new Porter.Hosting.Cli.UsageException(e.Message);
        }
    }

    public static AppType Detect(AppOptions app)
    {
        if (app.AppType != AppType.Auto) return app.AppType;
        if (!string.IsNullOrWhiteSpace(app.AppStartCommand)) return AppType.Command;
        if (app.StartupFile is { } startup)
            return startup.EndsWith(".py", StringComparison.Ordinal) ? AppType.Python : AppType.Node;
        if (File.Exists(Path.Combine(app.Root, "app.js"))) return AppType.Node;
        if (File.Exists(Path.Combine(app.Root, "passenger_wsgi.py")) || File.Exists(Path.Combine(app.Root, "app.py")))
            return AppType.Python;
        if (ProcfileWebCommand(app.Root) is not null) return AppType.Command;
        throw new UndetectableAppException(
            $"cannot tell how to start the app in {app.Root}: expected app.js, passenger_wsgi.py, app.py or a Procfile 'web:' line, or pass --app-start-command");
    }

    /// <summary>Builds the spawn plan; the port is filled in per process.</summary>
    public static SpawnPlan Plan(AppOptions app, string environment, string wsgiLoaderPath)
    {
        var type = Detect(app);
        var root = Path.GetFullPath(app.Root);
        var env = new Dictionary<string, string>
        {
            ["PORTER_APP"] = app.Name,
            ["PORTER_ENV"] = environment,
            ["NODE_ENV"] = environment,
            ["RACK_ENV"] = environment,
            ["ASPNETCORE_ENVIRONMENT"] = AspNetEnvironmentName(environment),
            ["PYTHONUNBUFFERED"] = "1",
        };
        switch (type)
        {
            case AppType.Node:
                // --expose-gc lets the app run GC out of band when Porter asks (POST /.porter/oob-work).
                return new SpawnPlan(type, "node", ["--expose-gc", app.StartupFile ?? "app.js"], root, env);
            case AppType.Python:
                var startup = app.StartupFile
                    ?? (File.Exists(Path.Combine(root, "passenger_wsgi.py")) ? "passenger_wsgi.py" : "app.py");
                return new SpawnPlan(type, "python3", [wsgiLoaderPath, root, startup], root, env);
            case AppType.Dotnet:
            case AppType.Command:
                var command = app.AppStartCommand ?? ProcfileWebCommand(root)
                    ?? throw new UndetectableAppException(
                        $"app type {type.ToString().ToLowerInvariant()} needs --app-start-command or a Procfile 'web:' line in {root}");
                // exec makes the app replace the shell, so signals reach it directly.
                return new SpawnPlan(type, "/bin/sh", ["-c", "exec " + command], root, env);
            default:
                throw new UndetectableAppException($"unknown app type {type}");
        }
    }

    /// <summary>The command of the Procfile's web: line, if there is one.</summary>
    public static string? ProcfileWebCommand(string root)
    {
        var procfile = Path.Combine(root, "Procfile");
        if (!File.Exists(procfile)) return null;
        foreach (var line in File.ReadLines(procfile))
        {
            var trimmed = line.Trim();
            if (trimmed.StartsWith("web:", StringComparison.Ordinal))
                return trimmed["web:".Length..].Trim() is { Length: > 0 } cmd ? cmd : null;
        }
        return null;
    }

    private static string AspNetEnvironmentName(string environment) => environment.ToLowerInvariant() switch
    {
        "production" => "Production",
        "development" => "Development",
        "staging" => "Staging",
        _ => environment,
    };
}
