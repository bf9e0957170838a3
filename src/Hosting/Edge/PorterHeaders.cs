using Microsoft.AspNetCore.Http;

namespace Porter.Hosting.Edge;

/// <summary>
/// Porter's private header namespace, <c>X-Porter-*</c> (the app a gateway forwards for, the gateway's credentials,
/// the OOB token), plus Passenger's <c>!~*</c>, which Passenger-era apps know as internal. Only Porter sets them; a
/// client's copies are dropped at the edge.
/// </summary>
public static class PorterHeaders
{
    public const string Prefix = "X-Porter-";

    private const string PassengerPrefix = "!~";

    public static bool IsPrivate(string name) =>
        name.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase) || name.StartsWith(PassengerPrefix, StringComparison.Ordinal);

    /// <summary>Removes every private header a client sent.</summary>
    public static void RemoveClientCopies(IHeaderDictionary headers)
    {
        List<string>? found = null;
        foreach (var (name, _) in headers)
            if (IsPrivate(name)) (found ??= []).Add(name);
        if (found is null) return;
        foreach (var name in found) headers.Remove(name);
    }
}
