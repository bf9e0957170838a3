using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using k8s;
using k8s.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Porter.Hosting.Tests.Discovery;

/// <summary>
/// A stand-in for the Kubernetes API server's pod listing: HTTPS on 127.0.0.1 with a self-signed certificate made for the
/// test, a service account's token, CA and namespace files, and pods that a test adds and removes while it runs.
/// It answers <c>GET /api/v1/namespaces/NS/pods?labelSelector=k=v,...</c> like the real server: 401 without the token,
/// 403 for another namespace (the Role is namespaced), equality selectors only.
/// </summary>
public sealed class FakeKubernetesApi : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, V1Pod> _pods = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _requests = new();
    private readonly ConcurrentQueue<string> _refusedAuthorizations = new();
    private readonly ConcurrentQueue<(string Namespace, string LabelSelector)> _listings = new();
    private readonly string _dir = Directory.CreateTempSubdirectory("porter-fake-k8s-").FullName;
    private WebApplication? _app;

    /// <param name="namespace">The only namespace the service account may list pods in.</param>
    /// <param name="token">The service account's bearer token.</param>
    public FakeKubernetesApi(string @namespace = "porter", string token = "fake-service-account-token")
    {
        Namespace = @namespace;
        Token = token;
        File.WriteAllText(TokenPath, token);
        File.WriteAllText(NamespacePath, @namespace);
    }

    /// <summary>The namespace the service account lives in (and the only one it may list).</summary>
    public string Namespace { get; }

    /// <summary>The bearer token the server accepts.</summary>
    public string Token { get; }

    /// <summary>Where the service account's token file is (api-token-path).</summary>
    public string TokenPath => Path.Combine(_dir, "token");

    /// <summary>Where the server's CA certificate is, PEM (api-ca-path).</summary>
    public string CaPath => Path.Combine(_dir, "ca.crt");

    /// <summary>Where the service account's namespace file is (pod-namespace-path).</summary>
    public string NamespacePath => Path.Combine(_dir, "namespace");

    /// <summary>The server's address (always 127.0.0.1) and port, as KUBERNETES_SERVICE_HOST/PORT give them in a pod.</summary>
    public string Host => "127.0.0.1";

    /// <summary>The HTTPS port, known once started.</summary>
    public int Port { get; private set; }

    /// <summary>Authorization headers of refused requests (empty when none was sent).</summary>
    public IReadOnlyList<string> RefusedAuthorizations => _refusedAuthorizations.ToArray();

    /// <summary>Namespace and (decoded) label selector of every pod listing asked for, in order.</summary>
    public IReadOnlyList<(string Namespace, string LabelSelector)> Listings => _listings.ToArray();

    /// <summary>Path and query of every request received, in order.</summary>
    public IReadOnlyList<string> Requests => _requests.ToArray();

    /// <summary>
    /// The environment a pod's node process gets from Kubernetes and Porter's manifests for discovery: the API address
    /// and the service-account file paths (as PORTER__DISCOVERY__ overrides, since the real paths are under /var/run).
    /// </summary>
    public IReadOnlyDictionary<string, string> PodEnvironment => new Dictionary<string, string>
    {
        ["KUBERNETES_SERVICE_HOST"] = Host,
        ["KUBERNETES_SERVICE_PORT"] = Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["PORTER__DISCOVERY__APITOKENPATH"] = TokenPath,
        ["PORTER__DISCOVERY__APICAPATH"] = CaPath,
        ["PORTER__DISCOVERY__PODNAMESPACEPATH"] = NamespacePath,
    };

    /// <summary>Generates the certificate, writes the CA file and starts listening on 127.0.0.1 (any free port).</summary>
    public async Task StartAsync()
    {
        using var certificate = CreateCertificate();
        await File.WriteAllTextAsync(CaPath, certificate.ExportCertificatePem());
        // Kestrel on Linux wants a certificate whose key it can use outside the creating object: round-trip it through PKCS#12.
        var serving = X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, listen => listen.UseHttps(serving)));
        var app = builder.Build();
        app.MapGet("/api/v1/namespaces/{ns}/pods", (string ns, HttpContext context) => ListPods(ns, context));
        app.MapFallback(context =>
        {
            _requests.Enqueue(context.Request.Path + context.Request.QueryString);
            return Status(context, 404, "NotFound", $"the fake API serves only pod lists, not {context.Request.Path}");
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        Port = new Uri(address).Port;
        _app = app;
    }

    /// <summary>Adds (or replaces) a pod of the workload labelled <paramref name="labels"/>, with its container ports.</summary>
    public V1Pod AddPod(string name, string ip, IReadOnlyDictionary<string, string> labels, IReadOnlyDictionary<string, int> ports,
        string phase = "Running", string containerName = "porter")
    {
        var pod = new V1Pod
        {
            ApiVersion = "v1",
            Kind = "Pod",
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = Namespace, Labels = labels.ToDictionary() },
            Spec = new V1PodSpec
            {
                Containers =
                [
                    new V1Container
                    {
                        Name = containerName,
                        Image = "porter",
                        Ports = ports.Select(p => new V1ContainerPort { Name = p.Key, ContainerPort = p.Value, Protocol = "TCP" }).ToList(),
                    },
                ],
            },
            Status = new V1PodStatus { Phase = phase, PodIP = phase == "Pending" ? null : ip },
        };
        _pods[name] = pod;
        return pod;
    }

    /// <summary>Removes a pod from the listing (as after its deletion completed).</summary>
    public bool RemovePod(string name) => _pods.TryRemove(name, out _);

    /// <summary>Marks a pod as terminating (deletion requested, still Running until its containers stop).</summary>
    public void MarkTerminating(string name)
    {
        if (_pods.TryGetValue(name, out var pod)) pod.Metadata.DeletionTimestamp = DateTime.UtcNow;
    }

    private Task ListPods(string ns, HttpContext context)
    {
        _requests.Enqueue(context.Request.Path + context.Request.QueryString);
        _listings.Enqueue((ns, context.Request.Query["labelSelector"].ToString()));
        if (context.Request.Headers.Authorization.ToString() != $"Bearer {Token}")
        {
            _refusedAuthorizations.Enqueue(context.Request.Headers.Authorization.ToString());
            return Status(context, 401, "Unauthorized", "Unauthorized");
        }
        if (ns != Namespace)
            return Status(context, 403, "Forbidden",
                $"pods is forbidden: User \"system:serviceaccount:{Namespace}:porter\" cannot list resource \"pods\" in API group \"\" in the namespace \"{ns}\"");
        var selector = ParseSelector(context.Request.Query["labelSelector"].ToString());
        if (selector is null) return Status(context, 400, "BadRequest", "unable to parse requirement: only k=v selectors are supported here");

        var items = _pods.Values
            .Where(p => selector.All(s => p.Metadata.Labels?.TryGetValue(s.Key, out var value) == true && value == s.Value))
            .OrderBy(p => p.Metadata.Name, StringComparer.Ordinal)
            .ToList();
        var list = new V1PodList { ApiVersion = "v1", Kind = "PodList", Metadata = new V1ListMeta { ResourceVersion = "1" }, Items = items };
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(KubernetesJson.Serialize(list));
    }

    /// <summary>Equality-based selectors ("a=b,c==d"); null for anything else.</summary>
    private static Dictionary<string, string>? ParseSelector(string text)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var pieces = part.Replace("==", "=", StringComparison.Ordinal).Split('=');
            if (pieces.Length != 2 || pieces[0].Length == 0 || pieces[0].EndsWith('!')) return null;
            result[pieces[0]] = pieces[1];
        }
        return result;
    }

    private static Task Status(HttpContext context, int code, string reason, string message)
    {
        context.Response.StatusCode = code;
        context.Response.ContentType = "application/json";
        // KubernetesClient's V1Status converter only reads; the shape is the API server's Status object.
        return context.Response.WriteAsync(System.Text.Json.JsonSerializer.Serialize(new
        {
            apiVersion = "v1", kind = "Status", status = "Failure", reason, message, code,
        }));
    }

    /// <summary>A self-signed certificate for 127.0.0.1 that is its own CA, so the client can trust it through api-ca-path.</summary>
    private static X509Certificate2 CreateCertificate()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=fake-kubernetes-api", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, false, 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(
            X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment | X509KeyUsageFlags.KeyCertSign, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
        Directory.Delete(_dir, recursive: true);
    }
}
