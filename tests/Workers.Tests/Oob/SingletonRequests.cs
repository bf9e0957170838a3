using Akka.Actor;
using Porter.Contracts.Oob;

namespace Porter.Workers.Tests.Oob;

/// <summary>Asking a coordinator singleton through its proxy, as workers do: re-send until it answers (it may be moving).</summary>
internal static class SingletonRequests
{
    public static async Task<object> RequestUntilAnswered(IActorRef proxy, OobProtocol.RequestToken request, Inbox inbox, TimeSpan patience)
    {
        var deadline = DateTime.UtcNow + patience;
        while (true)
        {
            proxy.Tell(request);
            try
            {
                return await inbox.ReceiveAsync(TimeSpan.FromSeconds(1));
            }
            catch (TimeoutException) when (DateTime.UtcNow < deadline)
            {
            }
        }
    }
}
