using Akka.Hosting;
using Porter.Contracts.Options;
using Porter.Gateway.Forwarding;
using Porter.Hosting;
using Porter.Hosting.Edge;
using Porter.Hosting.Management;
using Porter.Workers.Hosting;
using Porter.Workers.Oob;

namespace Porter.Gateway.Hosting;

/// <summary>
/// The composition root of <c>porter gateway</c>: the HTTP edge and the turbocache (roles gateway and cache),
/// forwarding every request the cache does not answer to a worker node serving the app.
/// </summary>
public static class GatewayHost
{
    public static WebApplication Build(PorterOptions options)
    {
        var credentials = new GatewayCredentials(options, TimeProvider.System);
        var builder = NodeHost.CreateBuilder(options);
        var certificate = PublicListener.LoadCertificate(options);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ListenPublic(options, certificate));
        builder.Services.AddGatewayRole(options);
        builder.Services.AddHttpForwarder();
        builder.Services.AddSingleton<WorkerRoutes>();
        builder.Services.AddSingleton(credentials);
        builder.Services.AddSingleton<WorkerForwarder>();

        builder.Services.AddAkka(NodeHost.ActorSystemName, (akka, _) => akka
            .WithPorterNode(options, GatewayRole.Roles)
            .WithGatewayRole(options)
            // Only a proxy: the OOB coordinator lives on worker nodes, this node just shows its state (GET /oob).
            .WithOobCoordinator(hostsCoordinator: false, options.Oob)
            .WithWorkerDirectory());

        var app = builder.Build();
        app.UseManagement(OobApi.MapOobApi);
        credentials.LogDevelopmentSecret(app.Logger);
        app.UseGatewayPipeline(app.Services.GetRequiredService<WorkerForwarder>().ForwardAsync);
        return app;
    }
}
