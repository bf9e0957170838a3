using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Porter.Workers.Spawning;

/// <summary>
/// How an app tells Porter's out-of-band work call from anyone else's: every process Porter starts gets its own random
/// secret in <see cref="EnvironmentVariable"/>, and the call's <c>X-Porter-OOB-Token</c> header carries
/// <c>{token id}.{hex HMAC-SHA256(secret, token id)}</c>. The secret never leaves the process's environment, so a
/// request that did not come from Porter (a client that guessed the path, another local user) cannot carry a valid
/// token; apps answer those with 403.
/// </summary>
public static class OobWorkSignature
{
    public const string EnvironmentVariable = "PORTER_OOB_SECRET";

    /// <summary>A new process's secret: 256 random bits as lower-case hex.</summary>
    public static string NewSecret() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    /// <summary>The X-Porter-OOB-Token value for <paramref name="tokenId"/> signed with the process's secret.</summary>
    public static string TokenHeaderValue(string secret, long tokenId)
    {
        var id = tokenId.ToString(CultureInfo.InvariantCulture);
        var mac = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.ASCII.GetBytes(id));
        return id + "." + Convert.ToHexStringLower(mac);
    }
}
