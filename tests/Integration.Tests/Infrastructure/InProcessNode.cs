using System.Reflection;
using Akka.Actor;
using Akka.Cluster;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Porter.Contracts.Options;
using Porter.Gateway.Hosting;

namespace Porter.Integration.Tests.Infrastructure;

/// <summary>
/// A Porter node hosted inside the test process (the same composition root as <c>porter start</c>), so several
/// nodes can form a real cluster over loopback remoting within one test.
/// </summary>
public sealed class InProcessNode : IAsyncDisposable
{
    private readonly WebApplication _app;
    private bool _crashed;

    private InProcessNode(WebApplication app, PorterOptions options)
    {
        _app = app;
        Options = options;
        // The public listener: every address but the management port's.
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses
            .First(a => new Uri(a).Port != options.Management.Port);
        BaseAddress = new Uri(address.EndsWith('/') ? address : address + "/");
        Client = new HttpClient(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false, UseCookies = false })
        {
            BaseAddress = BaseAddress,
            Timeout = TimeSpan.FromSeconds(60),
        };
    }

    public PorterOptions Options { get; }
    public Uri BaseAddress { get; }
    public HttpClient Client { get; }
    public ActorSystem System => _app.Services.GetRequiredService<ActorSystem>();
    public IServiceProvider Services => _app.Services;

    /// <summary>The akka.tcp address other nodes use as a seed.</summary>
    public string SeedAddress => Cluster.Get(System).SelfAddress.ToString();

    /// <summary>Starts a node serving the given app; it joins <paramref name="seed"/> or forms its own cluster.</summary>
    public static async Task<InProcessNode> StartAsync(AppOptions app, InProcessNode? seed = null, Action<PorterOptions>? configure = null)
    {
        var options = new PorterOptions
        {
            Port = 0,
            RemotingPort = seed is null ? Repo.FreePort() : 0,
            DataDir = Repo.TempDir("node"),
            Apps = [app],
            ShutdownGrace = 5,
            Management = { Port = Repo.FreePort() },
        };
        if (seed is not null) options.SeedNodes = [seed.SeedAddress];
        configure?.Invoke(options);
        var web = StandaloneHost.Build(options);
        await web.StartAsync();
        var node = new InProcessNode(web, options);
        await Poll.UntilAsync(() => Cluster.Get(node.System).SelfMember.Status == MemberStatus.Up,
            TimeSpan.FromSeconds(30), "the node to be Up in the cluster");
        return node;
    }

    /// <summary>
    /// Ends the node's actor system as a crash would: no coordinated shutdown, so it neither leaves the cluster nor
    /// hands its singletons over; the other members see it unreachable and their split brain resolver downs it.
    /// Its web host (and so its app processes) stays until <see cref="DisposeAsync"/>.
    /// </summary>
    public async Task CrashAsync()
    {
        // ActorSystem.Terminate would run the coordinated shutdown (a graceful leave); FinalTerminate is what it ends with.
        var finalTerminate = typeof(ActorSystem).GetMethod("FinalTerminate", BindingFlags.Instance | BindingFlags.NonPublic)
            ?? throw new InvalidOperationException("ActorSystem.FinalTerminate not found");
        _crashed = true;
        finalTerminate.Invoke(System, null);
        await System.WhenTerminated.WaitAsync(TimeSpan.FromSeconds(30));
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        try
        {
            await _app.StopAsync();
        }
        catch (Exception) when (_crashed)
        {
            // The actor system is gone already; the app processes were still ended by the process registry.
        }
        await _app.DisposeAsync();
    }
}
