using System.Net.Security;
using Microsoft.Extensions.Logging;

namespace Porter.Hosting.Edge.Tls;

/// <summary>
/// The public listener's certificate, re-read when its PEM files change (a renewal needs no restart). Handshakes ask
/// for it; at most once a second one of them looks at the files' modification times and sizes. A pair that cannot
/// be used (the certificate renewed, its key not yet) keeps the previous certificate serving and is logged once; the
/// next change of either file is tried again.
/// </summary>
public sealed class ReloadingCertificate
{
    private static readonly TimeSpan CheckInterval = TimeSpan.FromSeconds(1);

    private readonly string _certificateFile;
    private readonly string _keyFile;
    private readonly TimeProvider _clock;
    private readonly object _gate = new();
    private volatile SslStreamCertificateContext _current;
    private (DateTime, long, DateTime, long) _stamp;
    private long _nextCheck;

    /// <summary>Loads the pair now; throws <see cref="PemCertificate.UnusableException"/> when it cannot serve.</summary>
    public ReloadingCertificate(string certificateFile, string keyFile, TimeProvider? clock = null)
    {
        _certificateFile = Path.GetFullPath(certificateFile);
        _keyFile = Path.GetFullPath(keyFile);
        _clock = clock ?? TimeProvider.System;
        _stamp = Stamp();
        _current = PemCertificate.Load(_certificateFile, _keyFile, _clock);
        _nextCheck = _clock.GetTimestamp() + Ticks(CheckInterval);
    }

    /// <summary>Where reloads and unusable renewals are logged; set once the host's logging exists.</summary>
    public ILogger? Logger { get; set; }

    /// <summary>The certificate (with its chain) to present now, re-read first when the files changed since the last look.</summary>
    public SslStreamCertificateContext Current
    {
        get
        {
            var now = _clock.GetTimestamp();
            if (now < Volatile.Read(ref _nextCheck) || !Monitor.TryEnter(_gate)) return _current;
            try
            {
                Volatile.Write(ref _nextCheck, now + Ticks(CheckInterval));
                ReloadIfChanged();
            }
            finally
            {
                Monitor.Exit(_gate);
            }
            return _current;
        }
    }

    private void ReloadIfChanged()
    {
        var stamp = Stamp();
        if (stamp == _stamp) return;
        _stamp = stamp;
        try
        {
            var fresh = PemCertificate.Load(_certificateFile, _keyFile, _clock);
            // The previous certificate is not disposed: a handshake that took it a moment ago may still be using it.
            _current = fresh;
            Logger?.LogInformation("TLS certificate {File} reloaded: {Subject}, valid until {NotAfter:u}",
                _certificateFile, fresh.TargetCertificate.Subject, fresh.TargetCertificate.NotAfter.ToUniversalTime());
        }
        catch (PemCertificate.UnusableException e)
        {
            Logger?.LogWarning("TLS certificate not reloaded, the previous one keeps serving: {Reason}", e.Message);
        }
    }

    private (DateTime, long, DateTime, long) Stamp()
    {
        var certificate = new FileInfo(_certificateFile);
        var key = new FileInfo(_keyFile);
        return (certificate.Exists ? certificate.LastWriteTimeUtc : default, certificate.Exists ? certificate.Length : -1,
            key.Exists ? key.LastWriteTimeUtc : default, key.Exists ? key.Length : -1);
    }

    private long Ticks(TimeSpan span) => (long)(span.TotalSeconds * _clock.TimestampFrequency);
}
