namespace Porter.Contracts.Options;

/// <summary>
/// HTTPS on the public port, named as Passenger Standalone names it (<c>--ssl</c>, <c>--ssl-certificate</c>,
/// <c>--ssl-certificate-key</c>, <c>--ssl-port</c>). A certificate turns it on; the PEM files are re-read when they change.
/// </summary>
public sealed class TlsOptions
{
    /// <summary>Asks for HTTPS (Passenger's <c>--ssl</c>); a certificate alone turns it on as well, this without one is an error.</summary>
    public bool Enabled { get; set; }

    /// <summary>The certificate (chain) as a PEM file: the server's certificate first, then any intermediates.</summary>
    public string? Certificate { get; set; }

    /// <summary>The certificate's private key as a PEM file (PKCS#8, PKCS#1 or SEC1; not encrypted).</summary>
    public string? CertificateKey { get; set; }

    /// <summary>
    /// Port for HTTPS beside plain HTTP on <see cref="PorterOptions.Port"/>; 0 (the default) serves HTTPS only, on
    /// <see cref="PorterOptions.Port"/>.
    /// </summary>
    public int Port { get; set; }

    /// <summary>Whether the public listener serves HTTPS at all.</summary>
    public bool IsOn => Enabled || Certificate is not null || CertificateKey is not null;
}
