using Porter.Contracts.Options;
using Porter.Workers.Spawning;

namespace Porter.Workers.Tests.Spawning;

public sealed class AppTypeDetectorTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("porter-detect-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private AppOptions App(params string[] files)
    {
        foreach (var f in files) File.WriteAllText(Path.Combine(_root, f), f == "Procfile" ? "web: ./run --port $PORT\n" : "");
        return new AppOptions { Name = "t", Root = _root };
    }

    [Fact]
    public void App_js_is_node_started_with_expose_gc()
    {
        var plan = AppTypeDetector.Plan(App("app.js"), "production", "/loader.py");
        Assert.Equal(AppType.Node, plan.AppType);
        Assert.Equal("node", plan.FileName);
        Assert.Equal(["--expose-gc", "app.js"], plan.Arguments);
        Assert.Equal("production", plan.Environment["NODE_ENV"]);
    }

    [Fact]
    public void Passenger_wsgi_is_python_through_the_loader()
    {
        var plan = AppTypeDetector.Plan(App("passenger_wsgi.py", "app.py"), "development", "/loader.py");
        Assert.Equal(AppType.Python, plan.AppType);
        Assert.Equal(["/loader.py", _root, "passenger_wsgi.py"], plan.Arguments);
        Assert.Equal("Development", plan.Environment["ASPNETCORE_ENVIRONMENT"]);
    }

    [Fact]
    public void App_py_alone_is_python()
    {
        var plan = AppTypeDetector.Plan(App("app.py"), "production", "/loader.py");
        Assert.Equal(["/loader.py", _root, "app.py"], plan.Arguments);
    }

    [Fact]
    public void Procfile_web_line_is_a_command_run_with_exec()
    {
        var plan = AppTypeDetector.Plan(App("Procfile"), "production", "/loader.py");
        Assert.Equal(AppType.Command, plan.AppType);
        Assert.Equal(["-c", "exec ./run --port $PORT"], plan.Arguments);
    }

    [Fact]
    public void Start_command_wins_over_detected_files()
    {
        var app = App("app.js");
        app.AppStartCommand = "python3 -m http.server $PORT";
        Assert.Equal(AppType.Command, AppTypeDetector.Detect(app));
    }

    [Fact]
    public void Explicit_type_wins()
    {
        var app = App("app.js");
        app.AppType = AppType.Python;
        Assert.Equal(AppType.Python, AppTypeDetector.Detect(app));
    }

    [Fact]
    public void Empty_root_cannot_be_detected() =>
        Assert.Throws<AppTypeDetector.UndetectableAppException>(() => AppTypeDetector.Detect(App()));

    [Fact]
    public void Dotnet_type_without_command_is_refused()
    {
        var app = App();
        app.AppType = AppType.Dotnet;
        Assert.Throws<AppTypeDetector.UndetectableAppException>(() => AppTypeDetector.Plan(app, "production", "/l"));
    }
}
