using System.Net;
using Porter.Hosting;
using Yarp.ReverseProxy.Forwarder;

namespace Porter.Workers.Dispatching;

/// <summary>How Porter talks HTTP to what it forwards to (app processes, worker nodes): HTTP/1.1, pooled keep-alive, no proxy, no magic, header bytes unchanged.</summary>
public static class UpstreamHttp
{
    public static readonly ForwarderRequestConfig RequestConfig = new()
    {
        ActivityTimeout = TimeSpan.FromMinutes(10),
        Version = HttpVersion.Version11,
        VersionPolicy = HttpVersionPolicy.RequestVersionExact,
    };

    /// <summary>A client whose connections to each target are pooled and kept alive; share one per kind of target.</summary>
    public static HttpMessageInvoker CreateInvoker() => new(new SocketsHttpHandler
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.None,
        UseCookies = false,
        EnableMultipleHttp2Connections = false,
        ConnectTimeout = TimeSpan.FromSeconds(5),
        PooledConnectionIdleTimeout = TimeSpan.FromSeconds(50),
        ActivityHeadersPropagator = null,
        RequestHeaderEncodingSelector = static (_, _) => HeaderBytes.Encoding,
        ResponseHeaderEncodingSelector = static (_, _) => HeaderBytes.Encoding,
    });
}
