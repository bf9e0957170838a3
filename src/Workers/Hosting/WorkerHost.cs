using Akka.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Porter.Contracts.Options;
using Porter.Hosting;
using Porter.Hosting.Edge;
using Porter.Hosting.Management;
using Porter.Workers.Dispatching;
using Porter.Workers.Oob;

namespace Porter.Workers.Hosting;

/// <summary>
/// The composition root of a worker-only node (<c>porter-worker worker</c>): app pools, and an internal HTTP
/// listener on the node's own address that gateways forward to. Only requests a gateway of the cluster signed get
/// through it; it runs the same dispatcher as a standalone node, and the gateway already guarded the request,
/// resolved the app, cached, and set X-Forwarded-*.
/// </summary>
public static class WorkerHost
{
    public static readonly string[] Roles = [WorkerRole.Name];

    public static WebApplication Build(PorterOptions options)
    {
        var credentials = new GatewayCredentials(options, TimeProvider.System);
        var builder = NodeHost.CreateBuilder(options);
        // Gateways reach this listener on the node's address (WorkerEndpoint); it binds --address, by default that address.
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(NodeHost.ListenAddress(options.HttpListenAddress), options.Port));
        builder.Services.AddWorkerRole();
        builder.Services.AddSingleton<WorkerEndpoint>();
        builder.Services.AddSingleton(credentials);

        builder.Services.AddAkka(NodeHost.ActorSystemName, (akka, _) => akka
            .WithPorterNode(options, Roles)
            .WithWorkerRole(options));

        var app = builder.Build();
        app.UseManagement(OobApi.MapOobApi);
        credentials.LogDevelopmentSecret(app.Logger);
        app.UseMiddleware<GatewayAuthenticationMiddleware>();
        app.UseMiddleware<AppResolutionMiddleware>(true);
        app.UseMiddleware<AppStaticFilesMiddleware>();
        var dispatcher = app.Services.GetRequiredService<AppDispatcher>();
        app.Run(context => dispatcher.DispatchAsync(context, context.Features.Get<ResolvedApp>()!.App));
        return app;
    }
}
