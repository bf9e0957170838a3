using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Time.Testing;
using Porter.Hosting.Edge.Tls;

namespace Porter.Hosting.Tests.Edge;

/// <summary>The public listener's certificate: read from PEM with its chain, re-read when the files change, never replaced by an unusable pair.</summary>
public sealed class ReloadingCertificateTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("porter-tls-").FullName;
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string CertificateFile => Path.Combine(_dir, "cert.pem");
    private string KeyFile => Path.Combine(_dir, "key.pem");

    private static (X509Certificate2 Certificate, string KeyPem) Create(string name, X509Certificate2? issuer = null, ECDsa? issuerKey = null,
        DateTimeOffset? notAfter = null)
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        var from = DateTimeOffset.UtcNow.AddMinutes(-5);
        var until = notAfter ?? DateTimeOffset.UtcNow.AddDays(1);
        var certificate = issuer is null
            ? request.CreateSelfSigned(from, until)
            : request.Create(issuer.SubjectName, X509SignatureGenerator.CreateForECDsa(issuerKey!), from, until, RandomNumberGenerator.GetBytes(8));
        return (certificate, key.ExportPkcs8PrivateKeyPem());
    }

    private void Write((X509Certificate2 Certificate, string KeyPem) pair, params X509Certificate2[] chain)
    {
        File.WriteAllText(CertificateFile, string.Concat(new[] { pair.Certificate }.Concat(chain).Select(c => c.ExportCertificatePem() + "\n")));
        File.WriteAllText(KeyFile, pair.KeyPem);
    }

    [Fact]
    public void A_renewal_is_presented_once_the_next_look_at_the_files_comes_round()
    {
        var first = Create("first");
        Write(first);
        var certificate = new ReloadingCertificate(CertificateFile, KeyFile, _clock);
        Assert.Equal(first.Certificate.Thumbprint, certificate.Current.TargetCertificate.Thumbprint);

        var second = Create("second");
        Write(second);
        // Handshakes look at the files at most once a second.
        Assert.Equal(first.Certificate.Thumbprint, certificate.Current.TargetCertificate.Thumbprint);
        _clock.Advance(TimeSpan.FromSeconds(1.5));
        Assert.Equal(second.Certificate.Thumbprint, certificate.Current.TargetCertificate.Thumbprint);
    }

    [Fact]
    public void A_renewal_whose_key_does_not_fit_keeps_the_previous_certificate_until_the_key_follows()
    {
        var first = Create("first");
        Write(first);
        var certificate = new ReloadingCertificate(CertificateFile, KeyFile, _clock);

        var second = Create("second");
        File.WriteAllText(CertificateFile, second.Certificate.ExportCertificatePem());
        _clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(first.Certificate.Thumbprint, certificate.Current.TargetCertificate.Thumbprint);

        File.WriteAllText(KeyFile, second.KeyPem);
        _clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(second.Certificate.Thumbprint, certificate.Current.TargetCertificate.Thumbprint);
    }

    [Fact]
    public void The_intermediates_after_the_certificate_are_sent_with_it()
    {
        using var rootKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var rootRequest = new CertificateRequest("CN=porter-test-root", rootKey, HashAlgorithmName.SHA256);
        rootRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        var root = rootRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(3));
        using var intermediateKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var intermediateRequest = new CertificateRequest("CN=porter-test-intermediate", intermediateKey, HashAlgorithmName.SHA256);
        intermediateRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        var intermediate = intermediateRequest.Create(root.SubjectName, X509SignatureGenerator.CreateForECDsa(rootKey),
            DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(2), RandomNumberGenerator.GetBytes(8));
        var leaf = Create("leaf", intermediate, intermediateKey);
        // As fullchain.pem holds it: the server's certificate, then its intermediate.
        Write(leaf, intermediate);

        var context = PemCertificate.Load(CertificateFile, KeyFile);
        Assert.Equal(leaf.Certificate.Thumbprint, context.TargetCertificate.Thumbprint);
        Assert.Contains(context.IntermediateCertificates, c => c.Thumbprint == intermediate.Thumbprint);
    }

    [Fact]
    public void An_expired_certificate_is_refused_with_its_dates()
    {
        var pair = Create("expired", notAfter: DateTimeOffset.UtcNow.AddMinutes(-1));
        Write(pair);
        var error = Assert.Throws<PemCertificate.UnusableException>(() => PemCertificate.Load(CertificateFile, KeyFile));
        Assert.Contains("not now", error.Message);
    }
}
