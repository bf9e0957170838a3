using Microsoft.Extensions.Time.Testing;
using Porter.Contracts.Options;
using Porter.Hosting.Cli;
using Porter.Hosting.Options;
using Porter.Workers.Hosting;

namespace Porter.Workers.Tests.Hosting;

public sealed class GatewayCredentialsTests
{
    private const string Secret = "a-cluster-secret-of-some-length";

    private static readonly DateTimeOffset Start = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private static GatewayCredentials Node(FakeTimeProvider clock, string? secret = Secret, string hostname = "10.0.0.5") =>
        new(new PorterOptions { ClusterSecret = secret, Hostname = hostname }, clock);

    [Fact]
    public void A_worker_accepts_what_a_gateway_with_the_same_secret_signs()
    {
        var clock = new FakeTimeProvider(Start);
        var signature = Node(clock).Sign();
        Assert.True(Node(clock).Verify(signature));
        Assert.DoesNotContain(Secret, signature, StringComparison.Ordinal);
    }

    [Fact]
    public void Refuses_another_secret_a_tampered_time_and_garbage()
    {
        var clock = new FakeTimeProvider(Start);
        var worker = Node(clock);
        var signature = Node(clock).Sign();
        Assert.False(worker.Verify(Node(clock, "another-cluster-secret-entirely").Sign()));
        var dot = signature.IndexOf('.');
        var later = (long.Parse(signature[..dot], System.Globalization.CultureInfo.InvariantCulture) + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
        Assert.False(worker.Verify(later + signature[dot..]));
        foreach (var garbage in new[] { "", ".", "abc", "1.", "-5.00", signature[..dot], signature + "0", signature.ToUpperInvariant() })
            Assert.False(worker.Verify(garbage), garbage);
    }

    [Fact]
    public void A_signature_is_good_for_the_allowed_skew_either_way_and_no_longer()
    {
        var gatewayClock = new FakeTimeProvider(Start);
        var signature = Node(gatewayClock).Sign();
        foreach (var (offset, valid) in new[] { (TimeSpan.Zero, true), (GatewayCredentials.MaxSkew, true), (-GatewayCredentials.MaxSkew, true),
                     (GatewayCredentials.MaxSkew + TimeSpan.FromSeconds(1), false), (-GatewayCredentials.MaxSkew - TimeSpan.FromSeconds(1), false) })
            Assert.Equal(valid, Node(new FakeTimeProvider(Start + offset)).Verify(signature));
    }

    [Fact]
    public void A_gateway_signs_anew_every_second()
    {
        var clock = new FakeTimeProvider(Start);
        var gateway = Node(clock);
        var first = gateway.Sign();
        Assert.Same(first, gateway.Sign());
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.NotEqual(first, gateway.Sign());
    }

    [Fact]
    public void A_network_address_needs_a_long_enough_secret_and_loopback_has_a_default()
    {
        Assert.Contains("need --cluster-secret", Assert.Throws<UsageException>(() => ClusterSecret.For(new PorterOptions { Hostname = "10.0.0.5" })).Message);
        Assert.Contains("at least 16", Assert.Throws<UsageException>(() => ClusterSecret.For(new PorterOptions { ClusterSecret = "short" })).Message);
        Assert.Equal(Secret, ClusterSecret.For(new PorterOptions { ClusterSecret = Secret, Hostname = "10.0.0.5" }));
        foreach (var loopback in new[] { "127.0.0.1", "127.0.0.3", "localhost", "::1" })
        {
            var clock = new FakeTimeProvider(Start);
            var node = Node(clock, secret: null, hostname: loopback);
            Assert.True(node.UsesDevelopmentSecret);
            // Every loopback node falls back to the same secret, so a gateway and a worker on one machine agree...
            Assert.True(Node(clock, secret: null, hostname: "127.0.0.9").Verify(node.Sign()));
            // ...and never with a node that was given a real one.
            Assert.False(Node(clock).Verify(node.Sign()));
        }
    }
}
