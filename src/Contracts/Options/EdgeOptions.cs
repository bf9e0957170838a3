namespace Porter.Contracts.Options;

/// <summary>How the public listener treats client connections: protocols and the time it gives a client.</summary>
public sealed class EdgeOptions
{
    /// <summary>
    /// The plain HTTP port speaks HTTP/2 with prior knowledge (h2c) instead of HTTP/1.1, for a proxy in front that
    /// speaks h2c (Kestrel cannot serve both on one cleartext port); the TLS port offers h2 and HTTP/1.1 by ALPN always.
    /// </summary>
    public bool H2c { get; set; }

    /// <summary>Seconds a client may take to send a request's headers (Kestrel's request-headers timeout); then 408.</summary>
    public double ClientHeaderTimeout { get; set; } = 30;

    /// <summary>
    /// Slowest request body a client may send, in bytes per second averaged since the body began (Kestrel's minimum
    /// data rate); a slower upload gets 408. 0 turns the check off.
    /// </summary>
    public double ClientBodyMinRate { get; set; } = 240;

    /// <summary>Seconds a body may arrive slower than <see cref="ClientBodyMinRate"/> before the rate counts.</summary>
    public double ClientBodyGrace { get; set; } = 5;

    /// <summary>Seconds an idle keep-alive connection (HTTP/1.1 or HTTP/2) stays open.</summary>
    public double KeepAliveTimeout { get; set; } = 75;
}
