using System.Net;
using Microsoft.AspNetCore.Http;
using Porter.Contracts.Options;

namespace Porter.Gateway.Edge;

/// <summary>
/// Tells the app who the client is: sets X-Forwarded-For, -Proto and -Host. Values a client sent are dropped
/// (they could be forged) unless the peer is a configured trusted proxy, whose chain is kept and extended.
/// </summary>
public sealed class ForwardedHeadersMiddleware(RequestDelegate next, PorterOptions options)
{
    private const string ForwardedFor = "X-Forwarded-For";
    private const string ForwardedProto = "X-Forwarded-Proto";
    private const string ForwardedHost = "X-Forwarded-Host";
    private const string Forwarded = "Forwarded";

    private readonly IPAddress[] _trusted = options.TrustedProxies.Select(IPAddress.Parse).ToArray();

    public Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        var headers = request.Headers;
        var peer = context.Connection.RemoteIpAddress;
        var trusted = peer is not null && IsTrusted(peer);
        var peerText = peer?.IsIPv4MappedToIPv6 == true ? peer.MapToIPv4().ToString() : peer?.ToString() ?? "unknown";

        if (trusted)
        {
            var chain = headers[ForwardedFor].ToString();
            headers[ForwardedFor] = string.IsNullOrWhiteSpace(chain) ? peerText : $"{chain}, {peerText}";
            if (string.IsNullOrEmpty(headers[ForwardedProto])) headers[ForwardedProto] = request.Scheme;
            if (string.IsNullOrEmpty(headers[ForwardedHost])) headers[ForwardedHost] = request.Host.Value;
        }
        else
        {
            headers.Remove(Forwarded);
            headers[ForwardedFor] = peerText;
            headers[ForwardedProto] = request.Scheme;
            headers[ForwardedHost] = request.Host.Value;
        }
        return next(context);
    }

    /// <summary>Whether the request carries any of the headers this step rewrites.</summary>
    public static bool HasForwardingHeaders(IHeaderDictionary headers) =>
        headers.ContainsKey(ForwardedFor) || headers.ContainsKey(ForwardedProto) || headers.ContainsKey(ForwardedHost) || headers.ContainsKey(Forwarded);

    private bool IsTrusted(IPAddress peer)
    {
        if (peer.IsIPv4MappedToIPv6) peer = peer.MapToIPv4();
        foreach (var address in _trusted)
            if (address.Equals(peer)) return true;
        return false;
    }
}
