using System.Net;
using Microsoft.AspNetCore.Http;
using Porter.Contracts.Options;
using Porter.Hosting.Edge;

namespace Porter.Gateway.Edge;

/// <summary>
/// Tells the app who the client is and keeps clients from telling it themselves. Porter sets X-Forwarded-For, -Proto,
/// -Host and -Port. Every other header of the forwarded family (X-Forwarded-Prefix, -Ssl, -Scheme, X-Real-IP,
/// True-Client-IP, CF-Connecting-IP, X-Original-URL, ...), which frameworks read to learn the client's address,
/// scheme, host or path, is dropped unless the peer is a configured trusted proxy, whose values are kept (and whose
/// X-Forwarded-For chain is extended). Headers in Porter's private namespaces (X-Porter-*, and Passenger's !~*) are
/// dropped from every peer: only Porter sets them, between its own nodes and towards apps.
/// </summary>
public sealed class ForwardedHeadersMiddleware(RequestDelegate next, PorterOptions options)
{
    private const string ForwardedFor = "X-Forwarded-For";
    private const string ForwardedProto = "X-Forwarded-Proto";
    private const string ForwardedHost = "X-Forwarded-Host";
    private const string ForwardedPort = "X-Forwarded-Port";

    /// <summary>
    /// Request headers through which a proxy in front speaks for the client; from anyone else they are forgeries.
    /// Porter's own four come first, then the ones it only drops (RFC 7239, de-facto and CDN names, URL rewrites).
    /// </summary>
    private static readonly string[] ProxyHeaders =
    [
        ForwardedFor, ForwardedProto, ForwardedHost, ForwardedPort,
        "Forwarded", "X-Forwarded-Prefix", "X-Forwarded-Ssl", "X-Forwarded-Scheme", "X-Forwarded-Protocol", "X-Forwarded-Server",
        "X-Forwarded-Path", "X-Forwarded-Uri", "X-Forwarded", "Front-End-Https", "X-Url-Scheme",
        "X-Real-IP", "True-Client-IP", "CF-Connecting-IP", "Fastly-Client-IP", "X-Client-IP", "X-Cluster-Client-IP",
        "X-Original-Forwarded-For", "X-Original-URL", "X-Rewrite-URL", "X-Original-Host",
    ];

    private readonly IPAddress[] _trusted = options.TrustedProxies.Select(IPAddress.Parse).ToArray();

    public Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        var headers = request.Headers;
        PorterHeaders.RemoveClientCopies(headers);
        var peer = context.Connection.RemoteIpAddress;
        var trusted = peer is not null && IsTrusted(peer);
        var peerText = peer?.IsIPv4MappedToIPv6 == true ? peer.MapToIPv4().ToString() : peer?.ToString() ?? "unknown";
        var port = context.Connection.LocalPort.ToString(System.Globalization.CultureInfo.InvariantCulture);

        if (trusted)
        {
            var chain = headers[ForwardedFor].ToString();
            headers[ForwardedFor] = string.IsNullOrWhiteSpace(chain) ? peerText : $"{chain}, {peerText}";
            if (string.IsNullOrEmpty(headers[ForwardedProto])) headers[ForwardedProto] = request.Scheme;
            if (string.IsNullOrEmpty(headers[ForwardedHost])) headers[ForwardedHost] = request.Host.Value;
            if (string.IsNullOrEmpty(headers[ForwardedPort])) headers[ForwardedPort] = port;
        }
        else
        {
            foreach (var name in ProxyHeaders) headers.Remove(name);
            headers[ForwardedFor] = peerText;
            headers[ForwardedProto] = request.Scheme;
            headers[ForwardedHost] = request.Host.Value;
            headers[ForwardedPort] = port;
        }
        return next(context);
    }

    /// <summary>
    /// Whether the request carries any header this step rewrites or drops: the near-hit step leaves those requests to
    /// the full pipeline, whose lookup sees the values this step leaves.
    /// </summary>
    public static bool HasForwardingHeaders(IHeaderDictionary headers)
    {
        foreach (var name in ProxyHeaders)
            if (headers.ContainsKey(name)) return true;
        return false;
    }

    private bool IsTrusted(IPAddress peer)
    {
        if (peer.IsIPv4MappedToIPv6) peer = peer.MapToIPv4();
        foreach (var address in _trusted)
            if (address.Equals(peer)) return true;
        return false;
    }
}
