using Akka.Actor;
using Akka.Cluster;
using Porter.Contracts.Nodes;

namespace Porter.Hosting.Management;

/// <summary>Asks the node agent of every Up member with a role, in parallel, and collects each answer or why there is none.</summary>
public static class ClusterGather
{
    /// <summary>One member's answer, or the reason it gave none (unreachable, timed out).</summary>
    public sealed record Answer<T>(Member Member, T? Reply, string? Error) where T : class;

    public static async Task<IReadOnlyList<Answer<T>>> AskAllAsync<T>(ActorSystem system, string role, INodeMessage question,
        TimeSpan timeout, CancellationToken cancellationToken) where T : class
    {
        var state = Cluster.Get(system).State;
        var members = state.Members
            .Where(m => m.HasRole(role) && m.Status is MemberStatus.Up or MemberStatus.WeaklyUp)
            .OrderBy(m => m.Address.ToString(), StringComparer.Ordinal)
            .ToArray();
        var unreachable = state.Unreachable;
        var answers = members.Select(async member =>
        {
            if (unreachable.Contains(member)) return new Answer<T>(member, null, "unreachable");
            try
            {
                var agent = system.ActorSelection(new RootActorPath(member.Address) / "user" / NodeProtocol.AgentName);
                var reply = await agent.Ask<T>(question, timeout, cancellationToken);
                return new Answer<T>(member, reply, null);
            }
            catch (AskTimeoutException)
            {
                return new Answer<T>(member, null, $"no answer within {timeout.TotalSeconds:0} s");
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                return new Answer<T>(member, null, e.Message);
            }
        });
        return await Task.WhenAll(answers);
    }
}
