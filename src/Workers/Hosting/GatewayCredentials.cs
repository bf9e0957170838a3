using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Porter.Contracts.Options;
using Porter.Hosting.Options;

namespace Porter.Workers.Hosting;

/// <summary>
/// How a worker node knows that a request on its internal listener comes from a gateway of its own cluster: every
/// node shares a secret (<c>--cluster-secret</c>, on Kubernetes from the same Secret as the management token), and the
/// gateway signs each request with it. The header carries the time and an HMAC of it, so the secret itself never
/// crosses the network and a captured header is worth at most <see cref="MaxSkew"/>; the worker compares in constant
/// time. Both ends reuse the value of the current second, so signing and checking cost one HMAC per second. Which
/// secret a node uses (and that it has one) is <see cref="ClusterSecret"/>'s rule, checked when the options load.
/// </summary>
public sealed class GatewayCredentials
{
    /// <summary>The request header: <c>{unix seconds}.{hex HMAC-SHA256(secret, "porter-gateway:" + seconds)}</c>.</summary>
    public const string Header = "X-Porter-Gateway";

    /// <summary>How far a signature's time may be from the worker's clock (clock skew between pods, plus replay bound).</summary>
    public static readonly TimeSpan MaxSkew = TimeSpan.FromMinutes(2);

    private readonly byte[] _key;
    private readonly TimeProvider _clock;
    private Signature? _sending;
    private Signature? _accepted;

    private sealed record Signature(long Seconds, string Value);

    public GatewayCredentials(PorterOptions options, TimeProvider clock)
    {
        _key = Encoding.UTF8.GetBytes(ClusterSecret.For(options));
        _clock = clock;
        UsesDevelopmentSecret = ClusterSecret.IsDevelopmentDefault(options);
    }

    /// <summary>True when the node runs on loopback without a configured secret.</summary>
    public bool UsesDevelopmentSecret { get; }

    /// <summary>Says once at start that the built-in loopback secret is in use.</summary>
    public void LogDevelopmentSecret(ILogger logger)
    {
        if (UsesDevelopmentSecret)
            logger.LogInformation("No --cluster-secret: gateways and workers on loopback authenticate with the built-in development secret");
    }

    /// <summary>The header value a gateway sends now.</summary>
    public string Sign()
    {
        var seconds = _clock.GetUtcNow().ToUnixTimeSeconds();
        var current = Volatile.Read(ref _sending);
        if (current?.Seconds == seconds) return current.Value;
        var signed = new Signature(seconds, Format(seconds));
        Volatile.Write(ref _sending, signed);
        return signed.Value;
    }

    /// <summary>Whether a request's header value was signed with this cluster's secret within <see cref="MaxSkew"/> of now.</summary>
    public bool Verify(ReadOnlySpan<char> value)
    {
        var dot = value.IndexOf('.');
        if (dot <= 0 || !long.TryParse(value[..dot], NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)) return false;
        var now = _clock.GetUtcNow().ToUnixTimeSeconds();
        if (Math.Abs(now - seconds) > (long)MaxSkew.TotalSeconds) return false;
        // Requests from one gateway carry the same value for a whole second: one HMAC per second, not per request.
        if (Volatile.Read(ref _accepted) is { } accepted && accepted.Seconds == seconds && value.SequenceEqual(accepted.Value)) return true;
        var expected = Format(seconds);
        var ok = CryptographicOperations.FixedTimeEquals(MemoryMarshal.AsBytes(value), MemoryMarshal.AsBytes(expected.AsSpan()));
        if (ok) Volatile.Write(ref _accepted, new Signature(seconds, expected));
        return ok;
    }

    private string Format(long seconds)
    {
        var text = seconds.ToString(CultureInfo.InvariantCulture);
        var mac = HMACSHA256.HashData(_key, Encoding.ASCII.GetBytes("porter-gateway:" + text));
        return text + "." + Convert.ToHexStringLower(mac);
    }

}
