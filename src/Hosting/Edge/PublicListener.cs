using System.Net.Security;
using System.Security.Authentication;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Porter.Contracts.Options;
using Porter.Hosting.Edge.Tls;

namespace Porter.Hosting.Edge;

/// <summary>
/// The client-facing listeners of a gateway (standalone or <c>porter gateway</c>): plain HTTP on <c>--port</c>, HTTPS
/// on <c>--ssl-port</c> beside it or on <c>--port</c> alone, and the limits Kestrel applies to client connections.
/// HTTPS offers HTTP/2 and HTTP/1.1 by ALPN; the plain port speaks HTTP/1.1, or with <c>--h2c</c> HTTP/2 with prior
/// knowledge only: Kestrel cannot tell the two apart on one cleartext port (it has no ALPN there and sniffs no
/// preface), so h2c is for a proxy in front that speaks it. Worker nodes' internal listeners are not public: they never use this.
/// </summary>
public static class PublicListener
{
    /// <summary>The certificate of <paramref name="options"/> loaded and watched, or null without TLS.</summary>
    public static ReloadingCertificate? LoadCertificate(PorterOptions options) =>
        options.Tls.IsOn ? new ReloadingCertificate(options.Tls.Certificate!, options.Tls.CertificateKey!) : null;

    /// <summary>The ports the public listeners bind: (plain HTTP or null, HTTPS or null).</summary>
    public static (int? Http, int? Https) Ports(PorterOptions options) => options.Tls switch
    {
        { IsOn: false } => (options.Port, null),
        { Port: > 0 } tls => (options.Port, tls.Port),
        _ => (null, options.Port),
    };

    /// <summary>Adds the public listeners and the client-connection limits to Kestrel.</summary>
    public static void ListenPublic(this KestrelServerOptions kestrel, PorterOptions options, ReloadingCertificate? certificate)
    {
        var edge = options.Edge;
        kestrel.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(edge.ClientHeaderTimeout);
        kestrel.Limits.KeepAliveTimeout = TimeSpan.FromSeconds(edge.KeepAliveTimeout);
        kestrel.Limits.MinRequestBodyDataRate = edge.ClientBodyMinRate > 0
            ? new MinDataRate(edge.ClientBodyMinRate, TimeSpan.FromSeconds(edge.ClientBodyGrace))
            : null;

        var address = NodeHost.ListenAddress(options.HttpListenAddress);
        var (http, https) = Ports(options);
        if (http is { } plainPort)
            kestrel.Listen(address, plainPort, listen => listen.Protocols = edge.H2c ? HttpProtocols.Http2 : HttpProtocols.Http1);
        if (https is { } tlsPort && certificate is not null)
            kestrel.Listen(address, tlsPort, listen =>
            {
                listen.Protocols = HttpProtocols.Http1AndHttp2;
                certificate.Logger ??= listen.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger("Porter.Tls");
                // The callback hands SslStream a prepared certificate context (chain included): nothing is rebuilt per handshake.
                listen.UseHttps(new TlsHandshakeCallbackOptions
                {
                    OnConnection = _ => ValueTask.FromResult(new SslServerAuthenticationOptions
                    {
                        ServerCertificateContext = certificate.Current,
                        EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                        ClientCertificateRequired = false,
                    }),
                });
            });
    }
}
