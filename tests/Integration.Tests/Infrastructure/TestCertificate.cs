using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Porter.Integration.Tests.Infrastructure;

/// <summary>A self-signed server certificate for 127.0.0.1 and localhost made in the test, written as PEM files.</summary>
public sealed class TestCertificate
{
    private TestCertificate(X509Certificate2 certificate, string certificatePem, string keyPem)
    {
        Certificate = certificate;
        CertificatePem = certificatePem;
        KeyPem = keyPem;
    }

    public X509Certificate2 Certificate { get; }
    public string CertificatePem { get; }
    public string KeyPem { get; }

    public static TestCertificate Create(string commonName = "porter-test")
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={commonName}", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        return new TestCertificate(certificate, certificate.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem());
    }

    /// <summary>Writes the PEM files into <paramref name="dir"/> (replacing them) and returns their paths.</summary>
    public (string Certificate, string Key) WriteTo(string dir)
    {
        var certificate = Path.Combine(dir, "cert.pem");
        var key = Path.Combine(dir, "key.pem");
        File.WriteAllText(certificate, CertificatePem);
        File.WriteAllText(key, KeyPem);
        return (certificate, key);
    }

    /// <summary>
    /// A client for https://<paramref name="address"/>:<paramref name="port"/>/ that trusts exactly the certificates whose thumbprints are
    /// in <paramref name="trusted"/> (read on each handshake), speaking <paramref name="version"/> only, and reporting
    /// each certificate the server presented to <paramref name="presented"/>.
    /// </summary>
    /// <param name="freshConnections">A new connection (and handshake) for every request, so a reloaded certificate shows.</param>
    public static HttpClient Client(int port, Version version, Func<IEnumerable<string>> trusted, Action<X509Certificate2>? presented = null,
        bool freshConnections = false, string address = "127.0.0.1")
    {
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            UseCookies = false,
            PooledConnectionLifetime = freshConnections ? TimeSpan.Zero : Timeout.InfiniteTimeSpan,
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                {
                    if (certificate is null) return false;
                    var presentedCertificate = new X509Certificate2(certificate);
                    presented?.Invoke(presentedCertificate);
                    return trusted().Contains(presentedCertificate.Thumbprint);
                },
            },
        };
        return new HttpClient(handler)
        {
            BaseAddress = new Uri($"https://{address}:{port}/"),
            DefaultRequestVersion = version,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Timeout = TimeSpan.FromSeconds(60),
        };
    }
}
