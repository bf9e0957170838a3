using System.Net.Http.Headers;
using Microsoft.AspNetCore.Http;
using Porter.Hosting.Edge;
using Yarp.ReverseProxy.Forwarder;

namespace Porter.Workers.Dispatching;

/// <summary>
/// YARP's default header handling (hop-by-hop headers dropped, bodies streamed, upgrades passed through) plus
/// what an app server owes its apps: the client's Host header, and Porter's private response headers removed.
/// </summary>
public class AppRequestTransformer : HttpTransformer
{
    public static readonly AppRequestTransformer Instance = new();

    /// <summary>Response headers an app uses to ask Porter for out-of-band work; clients never see them.</summary>
    public static readonly string[] OobRequestHeaders = ["X-Porter-Request-OOB-Work", "!~Request-OOB-Work"];

    public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest,
        string destinationPrefix, CancellationToken cancellationToken)
    {
        await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken);
        // Apps (multitenant ones especially) need the host the client asked for, not 127.0.0.1:PORT.
        proxyRequest.Headers.Host = httpContext.Request.Host.Value;
        // The target as the client sent it (the edge already refused climbing paths): the app answers what the cache keys on.
        if (RequestTarget.ForwardUri(httpContext, destinationPrefix) is { } target) proxyRequest.RequestUri = target;
        // Hop-by-hop request headers, Connection-listed ones included, are gone already: the edge removed them first.
        httpContext.Features.Get<IUpstreamResponseHook>()?.OnRequest(httpContext, proxyRequest);
    }

    public override async ValueTask<bool> TransformResponseAsync(HttpContext httpContext, HttpResponseMessage? proxyResponse,
        CancellationToken cancellationToken)
    {
        var proceed = await base.TransformResponseAsync(httpContext, proxyResponse, cancellationToken);
        var headers = httpContext.Response.Headers;
        // The non-validated view reads the raw lines: the typed Connection collection would parse (and lock) per response.
        if (proxyResponse is not null && proxyResponse.Headers.NonValidated.TryGetValues("Connection", out var connection))
            HopByHopHeaders.RemoveListedFromResponse(headers, connection);
        foreach (var name in OobRequestHeaders)
        {
            // Removed whatever it says; only "true" asks (Passenger's rule too), so "false" or an empty value never runs work.
            if (headers.Remove(name, out var value) && OobWorkRequested.IsAsking(value)) httpContext.Features.Set(OobWorkRequested.Instance);
        }
        // Added after the app's headers are copied, next to any cookies the app sets itself.
        if (httpContext.Features.Get<StickySessionCookie>() is { } sticky) headers.Append("Set-Cookie", sticky.SetCookie);
        // Whether the answer is buffered or streams is decided on its headers, before a body byte arrives.
        httpContext.Features.Get<Buffering.ResponseBuffer>()?.Decide(httpContext.Response);
        // The cache judges the answer as the client will get it, sticky cookie included (which makes it unstorable).
        if (proceed && proxyResponse is not null && httpContext.Features.Get<IUpstreamResponseHook>() is { } hook)
            return hook.OnResponse(httpContext, proxyResponse);
        return proceed;
    }
}

/// <summary>Present on a request whose app process asked for out-of-band work in its response.</summary>
public sealed class OobWorkRequested
{
    public static readonly OobWorkRequested Instance = new();

    /// <summary>Whether the response header's value asks for out-of-band work: "true" in any case, nothing else.</summary>
    public static bool IsAsking(Microsoft.Extensions.Primitives.StringValues value)
    {
        for (var i = 0; i < value.Count; i++)
            if (value[i].AsSpan().Trim().Equals("true", StringComparison.OrdinalIgnoreCase)) return true;
        return false;
    }
}
