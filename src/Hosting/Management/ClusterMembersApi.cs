using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using Akka.Management.Cluster.Bootstrap.ContactPoint;
using System.Collections.Immutable;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Porter.Hosting.Management;

/// <summary>
/// Akka Management's cluster HTTP API, served from Kestrel (Akka.Management's own server cannot start here):
/// the same paths and JSON shapes for members, one member, leave/down, shard statistics and bootstrap seed nodes.
/// </summary>
public static class ClusterMembersApi
{
    private static readonly TimeSpan StatsTimeout = TimeSpan.FromSeconds(5);

    public static void MapClusterMembersApi(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/cluster/members", (ActorSystem system) => Results.Json(MembersDocument(Cluster.Get(system))));

        routes.MapGet("/cluster/members/{address}", (string address, ActorSystem system) =>
            FindMember(Cluster.Get(system), address, out var member, out var problem)
                ? Results.Json(MemberDocument(member!))
                : problem!);

        routes.MapPut("/cluster/members/{address}", async (string address, HttpRequest request, ActorSystem system) =>
        {
            var cluster = Cluster.Get(system);
            if (!FindMember(cluster, address, out var member, out var problem)) return problem!;
            var operation = request.HasFormContentType ? (await request.ReadFormAsync())["operation"].ToString() : request.Query["operation"].ToString();
            switch (operation.ToLowerInvariant())
            {
                case "leave":
                    cluster.Leave(member!.Address);
                    return Results.Json(new { message = $"Leaving {member.Address}" });
                case "down":
                    cluster.Down(member!.Address);
                    return Results.Json(new { message = $"Downing {member.Address}" });
                default:
                    return ManagementErrors.BadRequest($"operation must be 'leave' or 'down', not '{operation}'");
            }
        }).AddEndpointFilter<BearerTokenFilter>();

        routes.MapDelete("/cluster/members/{address}", (string address, ActorSystem system) =>
        {
            var cluster = Cluster.Get(system);
            if (!FindMember(cluster, address, out var member, out var problem)) return problem!;
            cluster.Leave(member!.Address);
            return Results.Json(new { message = $"Leaving {member.Address}" });
        }).AddEndpointFilter<BearerTokenFilter>();

        routes.MapGet("/cluster/shards/{region}", async (string region, ActorSystem system, CancellationToken ct) =>
        {
            IActorRef shardRegion;
            try
            {
                shardRegion = ClusterSharding.Get(system).ShardRegion(region);
            }
            catch (ArgumentException)
            {
                return ManagementErrors.NotFound($"no shard region named '{region}' on this node");
            }
            var stats = await shardRegion.Ask<ClusterShardingStats>(new GetClusterShardingStats(StatsTimeout), StatsTimeout + TimeSpan.FromSeconds(1), ct);
            return Results.Json(new
            {
                regions = stats.Regions.Select(r => new
                {
                    address = r.Key.ToString(),
                    shards = r.Value.Stats.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => new { shardId = s.Key, numEntities = s.Value }),
                }),
            });
        });

        // Cluster Bootstrap's contact-point answer, in the package's own type and serializer (Newtonsoft, PascalCase,
        // addresses as objects): the probing side deserializes exactly that. Members as HttpClusterBootstrapRoutes picks them.
        routes.MapGet("/bootstrap/seed-nodes", (ActorSystem system) =>
            Results.Text(Newtonsoft.Json.JsonConvert.SerializeObject(SeedNodesDocument(Cluster.Get(system))), "application/json"));
    }

    /// <summary>
    /// What <c>/bootstrap/seed-nodes</c> answers: this node and the reachable Up, WeaklyUp or Joining members, none while
    /// this node is leaving (as Akka.Management's own route answers).
    /// </summary>
    public static HttpBootstrapJsonProtocol.SeedNodes SeedNodesDocument(Cluster cluster)
    {
        var self = cluster.SelfMember;
        if (self.Status is MemberStatus.Down or MemberStatus.Exiting or MemberStatus.Leaving or MemberStatus.Removed)
            return new HttpBootstrapJsonProtocol.SeedNodes(self.UniqueAddress.Address, ImmutableList<HttpBootstrapJsonProtocol.ClusterMember>.Empty);
        var state = cluster.State;
        var members = state.Members
            .Where(m => !state.Unreachable.Contains(m))
            .Where(m => m.Status is MemberStatus.Up or MemberStatus.WeaklyUp or MemberStatus.Joining)
            .Select(m => new HttpBootstrapJsonProtocol.ClusterMember(m.UniqueAddress.Address, m.UniqueAddress.Uid, m.Status, m.Roles))
            .ToImmutableList();
        return new HttpBootstrapJsonProtocol.SeedNodes(self.UniqueAddress.Address, members);
    }

    /// <summary>The members document: selfNode, leader, oldest, oldestPerRole, members and unreachable, as Akka Management writes it.</summary>
    public static object MembersDocument(Cluster cluster)
    {
        var state = cluster.State;
        var members = state.Members.ToList();
        var up = members.Where(m => m.Status == MemberStatus.Up).OrderBy(m => m, Member.AgeOrdering).ToList();
        return new
        {
            selfNode = cluster.SelfAddress.ToString(),
            leader = state.Leader?.ToString(),
            oldest = up.FirstOrDefault()?.Address.ToString(),
            // Where each role's singletons run (the OOB coordinator on the oldest worker).
            oldestPerRole = up.SelectMany(m => m.Roles.Select(role => (role, m)))
                .GroupBy(p => p.role, StringComparer.Ordinal)
                .OrderBy(g => g.Key, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.First().m.Address.ToString(), StringComparer.Ordinal),
            members = members.Select(MemberDocument),
            unreachable = state.Unreachable.Select(m => new
            {
                node = m.Address.ToString(),
                observedBy = state.SeenBy.Where(a => !a.Equals(m.Address)).Select(a => a.ToString()),
            }),
        };
    }

    private static object MemberDocument(Member member) => new
    {
        node = member.Address.ToString(),
        nodeUid = member.UniqueAddress.Uid.ToString(System.Globalization.CultureInfo.InvariantCulture),
        status = member.Status.ToString(),
        roles = member.Roles.OrderBy(r => r, StringComparer.Ordinal),
    };

    /// <summary>Accepts a full address (akka.tcp://porter@host:port) or one without the protocol (porter@host:port).</summary>
    private static bool FindMember(Cluster cluster, string text, out Member? member, out IResult? problem)
    {
        member = null;
        problem = null;
        var decoded = Uri.UnescapeDataString(text);
        if (!decoded.Contains("://", StringComparison.Ordinal)) decoded = $"{cluster.SelfAddress.Protocol}://{decoded}";
        Address address;
        try
        {
            address = Address.Parse(decoded);
        }
        catch (Exception e) when (e is UriFormatException or ArgumentException or FormatException)
        {
            problem = ManagementErrors.BadRequest($"'{text}' is not a cluster member address (akka.tcp://system@host:port)");
            return false;
        }
        if (address.Host is null || address.Port is null)
        {
            problem = ManagementErrors.BadRequest($"'{text}' is not a cluster member address (akka.tcp://system@host:port)");
            return false;
        }
        member = cluster.State.Members.FirstOrDefault(m => m.Address.Equals(address));
        if (member is null) problem = ManagementErrors.NotFound($"Member [{address}] not found");
        return member is not null;
    }
}
