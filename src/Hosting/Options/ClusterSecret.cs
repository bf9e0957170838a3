using System.Net;
using Porter.Contracts.Options;
using Porter.Hosting.Cli;

namespace Porter.Hosting.Options;

/// <summary>
/// The secret every gateway and worker node of a cluster shares (<c>--cluster-secret</c>): gateways sign what they
/// forward to workers' internal listeners with it. Checked when the options load, so a node that could not
/// authenticate its peers never starts.
/// </summary>
public static class ClusterSecret
{
    /// <summary>A secret shorter than this is refused: it could be guessed.</summary>
    public const int MinimumLength = 16;

    /// <summary>
    /// Stands in when no secret is configured and the node's address is a loopback one: such a listener is reachable only
    /// from this machine, from where the app processes' own ports are reachable anyway. Never used on a network address.
    /// </summary>
    private const string LoopbackDevelopmentSecret = "porter-loopback-development-secret";

    /// <summary>
    /// The shared secret of a gateway or worker node: the configured one, or on a loopback address the development
    /// default. Throws <see cref="UsageException"/> (one line, exit code 2) for a short one, or none on a network address.
    /// </summary>
    public static string For(PorterOptions options)
    {
        if (!string.IsNullOrEmpty(options.ClusterSecret))
        {
            if (options.ClusterSecret.Length < MinimumLength)
                throw new UsageException($"--cluster-secret must be at least {MinimumLength} characters (e.g. openssl rand -hex 32)");
            return options.ClusterSecret;
        }
        if (IsLoopback(options.Hostname)) return LoopbackDevelopmentSecret;
        throw new UsageException(
            $"gateway and worker nodes on a network address (--hostname {options.Hostname}) need --cluster-secret (PORTER__CLUSTERSECRET), the same on every node");
    }

    /// <summary>True when no secret is configured, so a loopback node uses the development default.</summary>
    public static bool IsDevelopmentDefault(PorterOptions options) => string.IsNullOrEmpty(options.ClusterSecret);

    private static bool IsLoopback(string hostname) =>
        hostname == "localhost" || (IPAddress.TryParse(hostname, out var address) && IPAddress.IsLoopback(address));
}
