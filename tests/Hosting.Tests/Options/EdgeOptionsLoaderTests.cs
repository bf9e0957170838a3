using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Porter.Contracts.Options;
using Porter.Hosting.Cli;
using Porter.Hosting.Edge;
using Porter.Hosting.Options;

namespace Porter.Hosting.Tests.Options;

/// <summary>The public listener's options: HTTPS beside HTTP or alone, client timeouts, buffers, and what is refused.</summary>
public sealed class EdgeOptionsLoaderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("porter-edge-options-").FullName;
    private readonly string _certificate;
    private readonly string _key;

    public EdgeOptionsLoaderTests()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var certificate = new CertificateRequest("CN=porter-options", key, HashAlgorithmName.SHA256)
            .CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        _certificate = Path.Combine(_dir, "cert.pem");
        _key = Path.Combine(_dir, "key.pem");
        File.WriteAllText(_certificate, certificate.ExportCertificatePem());
        File.WriteAllText(_key, key.ExportPkcs8PrivateKeyPem());
        Directory.CreateDirectory(Path.Combine(_dir, "app"));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private PorterOptions Load(string verb, params string[] flags) =>
        PorterOptionsLoader.Load(NodeCommandLine.Parse([Path.Combine(_dir, "app"), "--data-dir", Path.Combine(_dir, "data"), .. flags], verb), checkApp: null);

    [Fact]
    public void Https_beside_http_with_an_ssl_port_and_alone_without()
    {
        var beside = Load("start", "--port", "8080", "--ssl-port", "8443", "--ssl-certificate", _certificate, "--ssl-certificate-key", _key);
        Assert.Equal((8080, 8443), PublicListener.Ports(beside));
        var alone = Load("start", "--port", "8443", "--ssl-certificate", _certificate, "--ssl-certificate-key", _key);
        Assert.Equal((null, 8443), PublicListener.Ports(alone));
        Assert.Equal((8080, null), PublicListener.Ports(Load("start", "--port", "8080")));
    }

    [Fact]
    public void Client_timeouts_and_buffer_limits_bind_from_flags()
    {
        var options = Load("start", "--client-header-timeout", "7", "--keep-alive-timeout", "9", "--client-body-min-rate", "0", "--h2c",
            "--response-buffer-memory-total", "1048576", "--max-request-time", "30", "--disable-response-buffering", "--disable-request-buffering");
        Assert.Equal(7, options.Edge.ClientHeaderTimeout);
        Assert.Equal(9, options.Edge.KeepAliveTimeout);
        Assert.Equal(0, options.Edge.ClientBodyMinRate);
        Assert.True(options.Edge.H2c);
        Assert.Equal(1048576, options.ResponseBuffer.MemoryTotal);
        var app = Assert.Single(options.Apps);
        Assert.Equal(30, app.MaxRequestTime);
        Assert.True(app.DisableResponseBuffering);
        Assert.True(app.DisableRequestBuffering);
    }

    [Theory]
    [InlineData("start", "--ssl-port must differ from --port", "--port", "8443", "--ssl-port", "8443", "--ssl-certificate", "CERT", "--ssl-certificate-key", "KEY")]
    [InlineData("start", "needs both --ssl-certificate and --ssl-certificate-key", "--ssl")]
    [InlineData("start", "needs both --ssl-certificate and --ssl-certificate-key", "--ssl-certificate", "CERT")]
    [InlineData("worker", "a worker's listener is internal", "--ssl-certificate", "CERT", "--ssl-certificate-key", "KEY", "--seed-nodes", "akka.tcp://porter@127.0.0.1:4053")]
    [InlineData("start", "--client-header-timeout must be positive", "--client-header-timeout", "0")]
    [InlineData("start", "--max-request-time must not be negative", "--max-request-time", "-1")]
    [InlineData("start", "--response-buffer-disk-total must not be negative", "--response-buffer-disk-total", "-5")]
    public void Refuses_with_one_line(string verb, string expected, params string[] flags)
    {
        flags = flags.Select(f => f switch { "CERT" => _certificate, "KEY" => _key, _ => f }).ToArray();
        var error = Assert.Throws<UsageException>(() => Load(verb, flags));
        Assert.Contains(expected, error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }
}
