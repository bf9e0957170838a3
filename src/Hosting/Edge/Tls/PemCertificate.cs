using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Porter.Hosting.Edge.Tls;

/// <summary>Reads a certificate and its private key from PEM files, with a one-line reason when they are unusable.</summary>
public static class PemCertificate
{
    /// <summary>Why a pair of PEM files cannot serve TLS; carries a message for the operator, no stack trace.</summary>
    public sealed class UnusableException(string message) : Exception(message);

    /// <summary>
    /// The certificate with its key and the chain to send (the intermediates after it in the file), ready for
    /// handshakes. Throws <see cref="UnusableException"/> when a file is missing or unreadable, holds no PEM
    /// certificate or unencrypted key, the key does not belong to the certificate, or the certificate is not valid now.
    /// </summary>
    public static SslStreamCertificateContext Load(string certificateFile, string keyFile, TimeProvider? clock = null)
    {
        var certificatePem = ReadText(certificateFile, "certificate", "--ssl-certificate");
        var keyPem = ReadText(keyFile, "certificate key", "--ssl-certificate-key");
        var chain = new X509Certificate2Collection();
        try
        {
            chain.ImportFromPem(certificatePem);
        }
        catch (CryptographicException e)
        {
            throw new UnusableException($"the TLS certificate {certificateFile} is not a PEM certificate ({OneLine(e.Message)}) (--ssl-certificate)");
        }
        if (chain.Count == 0)
            throw new UnusableException($"the TLS certificate {certificateFile} holds no PEM CERTIFICATE block (--ssl-certificate)");

        X509Certificate2 certificate;
        try
        {
            certificate = X509Certificate2.CreateFromPem(certificatePem, keyPem);
        }
        catch (ArgumentException)
        {
            throw new UnusableException($"the TLS certificate key {keyFile} does not belong to the certificate {certificateFile} (--ssl-certificate-key)");
        }
        catch (CryptographicException e)
        {
            throw new UnusableException(
                $"the TLS certificate key {keyFile} holds no unencrypted PEM private key that fits {certificateFile} ({OneLine(e.Message)}) (--ssl-certificate-key)");
        }
        var now = (clock ?? TimeProvider.System).GetUtcNow().UtcDateTime;
        var (from, until) = (certificate.NotBefore.ToUniversalTime(), certificate.NotAfter.ToUniversalTime());
        if (now < from || now > until)
        {
            certificate.Dispose();
            throw new UnusableException($"the TLS certificate {certificateFile} is valid from {from:u} until {until:u}, not now (--ssl-certificate)");
        }
        var intermediates = new X509Certificate2Collection();
        for (var i = 1; i < chain.Count; i++) intermediates.Add(chain[i]);
        // Offline: the chain is what the file holds; no handshake waits for a download of missing intermediates.
        return SslStreamCertificateContext.Create(certificate, intermediates, offline: true);
    }

    private static string ReadText(string file, string what, string flag)
    {
        try
        {
            return File.ReadAllText(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UnusableException($"cannot read the TLS {what} {file}: {OneLine(e.Message)} ({flag})");
        }
    }

    private static string OneLine(string message) => message.Split('\n')[0].Trim().TrimEnd('.');
}
