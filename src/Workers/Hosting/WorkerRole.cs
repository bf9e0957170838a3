using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Porter.Contracts.Options;
using Porter.Hosting.Edge;
using Porter.Hosting.Management;
using Porter.Workers.Dispatching;
using Porter.Workers.Management;
using Porter.Workers.Oob;
using Porter.Workers.Pool;

namespace Porter.Workers.Hosting;

/// <summary>
/// The worker role's services and actors: the pools and their dispatcher, out-of-band work (the coordinator singleton
/// lives on worker nodes), its management report, its graceful drain.
/// </summary>
public static class WorkerRole
{
    public const string Name = "worker";

    public static IServiceCollection AddWorkerRole(this IServiceCollection services)
    {
        services.AddWorkerPool();
        services.AddHttpForwarder();
        services.AddSingleton<Dispatching.Buffering.ResponseBufferBudget>();
        services.AddSingleton<AppDispatcher>();
        services.TryAddSingleton<AppResolver>();
        services.AddSingleton<WorkerManagement>();
        services.AddSingleton<INodeReportSource>(sp => sp.GetRequiredService<WorkerManagement>());
        services.AddSingleton<IWorkerNode>(sp => sp.GetRequiredService<WorkerManagement>());
        services.AddSingleton<OobMetrics>();
        services.AddSingleton<InFlightRequests>();
        services.AddSingleton<INodeReportSource>(sp => sp.GetRequiredService<InFlightRequests>());
        return services;
    }

    public static AkkaConfigurationBuilder WithWorkerRole(this AkkaConfigurationBuilder akka, PorterOptions options) => akka
        // Before the pool: its supervisors' OOB runners talk to the coordinator through the proxy registered here.
        .WithOobCoordinator(hostsCoordinator: true, options.Oob)
        .AddPoolManager()
        .WithWorkerDrain(options);
}
