using Akka.Hosting;
using Porter.Contracts.Options;
using Porter.Hosting;
using Porter.Hosting.Edge;
using Porter.Hosting.Management;
using Porter.Workers.Dispatching;
using Porter.Workers.Oob;
using Porter.Workers.Hosting;

namespace Porter.Gateway.Hosting;

/// <summary>
/// The composition root of <c>porter start</c>: one process holding the gateway, cache and worker roles in a
/// cluster of one, with the dispatcher called in process (no network hop between gateway and worker).
/// </summary>
public static class StandaloneHost
{
    public static readonly string[] Roles = [.. GatewayRole.Roles, WorkerRole.Name];

    public static WebApplication Build(PorterOptions options)
    {
        var builder = NodeHost.CreateBuilder(options);
        var certificate = PublicListener.LoadCertificate(options);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ListenPublic(options, certificate));
        builder.Services.AddGatewayRole(options);
        builder.Services.AddWorkerRole();

        builder.Services.AddAkka(NodeHost.ActorSystemName, (akka, _) => akka
            .WithPorterNode(options, Roles)
            .WithGatewayRole(options)
            .WithWorkerRole(options));

        var app = builder.Build();
        app.UseManagement(OobApi.MapOobApi);
        app.UseGatewayPipeline(app.Services.GetRequiredService<AppDispatcher>().DispatchAsync);
        return app;
    }
}
