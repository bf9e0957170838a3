using System.Net;
using System.Security.Cryptography.X509Certificates;
using Akka.Actor;
using Akka.Discovery;
using Akka.Event;
using k8s;
using k8s.Authentication;
using k8s.Autorest;
using k8s.Models;
using Config = Akka.Configuration.Config;

namespace Porter.Hosting.Discovery;

/// <summary>
/// Akka.Discovery over the Kubernetes API: lists the pods matching a label selector in one namespace and returns the
/// Running ones' IPs with their named (management) port. It reads the same configuration keys as
/// Akka.Discovery.KubernetesApi, whose 1.5.73 lookup fails at run time against the KubernetesClient versions NuGet serves.
/// </summary>
public sealed class KubernetesPodDiscovery : ServiceDiscovery, IDisposable
{
    /// <summary>The discovery method's name, and its section under <c>akka.discovery</c>.</summary>
    public const string MethodName = "kubernetes-api";

    /// <summary>The variable every pod has that names the API server (and that nothing outside a pod sets).</summary>
    public const string ServiceHostVariable = "KUBERNETES_SERVICE_HOST";

    /// <summary>This class's defaults, under <c>akka.discovery.kubernetes-api</c>.</summary>
    public static readonly string DefaultHocon = $$"""
        akka.discovery.{{MethodName}} {
          class = "{{typeof(KubernetesPodDiscovery).AssemblyQualifiedName}}"
          api-ca-path = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"
          api-token-path = "/var/run/secrets/kubernetes.io/serviceaccount/token"
          api-service-host-env-name = "{{ServiceHostVariable}}"
          api-service-port-env-name = "KUBERNETES_SERVICE_PORT"
          pod-namespace-path = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"
          pod-namespace = ""
          pod-domain = "cluster.local"
          pod-label-selector = "app={0}"
          use-raw-ip = true
          container-name = ""
        }
        """;

    private readonly ILoggingAdapter _log;
    private readonly Kubernetes? _client;
    private readonly string? _configurationProblem;
    private readonly string _labelSelector;
    private readonly string _podDomain;
    private readonly bool _rawIp;
    private readonly string? _containerName;

    /// <summary>The namespace whose pods are listed: <c>pod-namespace</c>, else the service account's namespace file, else "default".</summary>
    public string PodNamespace { get; }

    /// <summary>The API server's base address (always https), or null when its environment variables are missing.</summary>
    public Uri? ApiServer { get; }

    /// <summary>Created by Akka.Discovery from <c>akka.discovery.kubernetes-api</c>.</summary>
    public KubernetesPodDiscovery(ExtendedActorSystem system)
        : this(system, system.Settings.Config.GetConfig($"akka.discovery.{MethodName}"))
    {
    }

    /// <summary>Created by Akka.Discovery with its method's configuration section.</summary>
    public KubernetesPodDiscovery(ExtendedActorSystem system, Config config)
    {
        _log = Logging.GetLogger(system, typeof(KubernetesPodDiscovery));
        config = config.WithFallback(Akka.Configuration.ConfigurationFactory.ParseString(DefaultHocon).GetConfig($"akka.discovery.{MethodName}"));
        _labelSelector = config.GetString("pod-label-selector");
        _podDomain = config.GetString("pod-domain");
        _rawIp = config.GetBoolean("use-raw-ip");
        _containerName = NullIfBlank(config.GetString("container-name"));
        PodNamespace = NullIfBlank(config.GetString("pod-namespace"))
            ?? NullIfBlank(ReadFile(config.GetString("pod-namespace-path")))
            ?? "default";

        var hostVariable = config.GetString("api-service-host-env-name");
        var portVariable = config.GetString("api-service-port-env-name");
        var host = Environment.GetEnvironmentVariable(hostVariable);
        var port = Environment.GetEnvironmentVariable(portVariable);
        if (string.IsNullOrWhiteSpace(host) || string.IsNullOrWhiteSpace(port))
        {
            // Not fatal here: Cluster Bootstrap retries lookups, and each failed lookup says what is missing.
            _configurationProblem = $"the Kubernetes API address is unknown: {hostVariable} and {portVariable} must be set (they are inside a pod)";
            _log.Error("Kubernetes pod discovery: {0}", _configurationProblem);
            return;
        }

        // An IPv6 service host needs brackets in a URI.
        ApiServer = new Uri($"https://{(IPAddress.TryParse(host, out var ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{host}]" : host)}:{port}");
        var clientConfig = new KubernetesClientConfiguration
        {
            Host = ApiServer.ToString(),
            Namespace = PodNamespace,
            // TokenFileAuth re-reads the file, so projected service-account tokens that rotate keep working.
            TokenProvider = new TokenFileAuth(config.GetString("api-token-path")),
        };
        var caPath = config.GetString("api-ca-path");
        if (File.Exists(caPath) && TryLoadCertificates(caPath) is { } certs) clientConfig.SslCaCerts = certs;
        _client = new Kubernetes(clientConfig);
    }

    /// <summary>The label selector for a service name (<c>{0}</c> is the name).</summary>
    public string LabelSelector(string serviceName) => string.Format(System.Globalization.CultureInfo.InvariantCulture, _labelSelector, serviceName);

    /// <summary>The Running pods with an IP, each with the port named <see cref="Lookup.PortName"/> (pods without it are skipped).</summary>
    /// <exception cref="KubernetesDiscoveryException">The API could not be reached, refused the request or timed out.</exception>
    public override async Task<Resolved> Lookup(Lookup lookup, TimeSpan resolveTimeout)
    {
        if (_client is null) throw new KubernetesDiscoveryException(_configurationProblem!);
        var selector = LabelSelector(lookup.ServiceName);
        using var timeout = new CancellationTokenSource(resolveTimeout);
        V1PodList pods;
        try
        {
            pods = await _client.CoreV1.ListNamespacedPodAsync(PodNamespace, labelSelector: selector, cancellationToken: timeout.Token).ConfigureAwait(false);
        }
        catch (HttpOperationException e)
        {
            var status = e.Response.StatusCode;
            var hint = status switch
            {
                HttpStatusCode.Unauthorized => ": the service account token was refused",
                HttpStatusCode.Forbidden => ": the service account may not list pods here (check the Role and RoleBinding)",
                _ => "",
            };
            throw new KubernetesDiscoveryException(
                $"listing pods in namespace '{PodNamespace}' with selector '{selector}' at {ApiServer} answered {(int)status} {status}{hint}", e);
        }
        catch (OperationCanceledException e) when (timeout.IsCancellationRequested)
        {
            throw new KubernetesDiscoveryException($"listing pods at {ApiServer} took longer than {resolveTimeout.TotalSeconds:0.#} s", e);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or System.Security.Authentication.AuthenticationException)
        {
            throw new KubernetesDiscoveryException($"cannot reach the Kubernetes API at {ApiServer}: {e.Message}", e);
        }

        var targets = Targets(pods, lookup.PortName).ToList();
        if (targets.Count == 0)
            _log.Warning("Kubernetes pod discovery: no Running pod with port {0} in namespace {1} matches {2} ({3} pods listed)",
                lookup.PortName ?? "(any)", PodNamespace, selector, pods.Items.Count);
        return new Resolved(lookup.ServiceName, targets);
    }

    private IEnumerable<ResolvedTarget> Targets(V1PodList pods, string? portName)
    {
        foreach (var pod in pods.Items)
        {
            // A terminating pod is still Running for a while; bootstrap must not pick it as a contact point.
            if (pod.Metadata?.DeletionTimestamp is not null) continue;
            if (!string.Equals(pod.Status?.Phase, "Running", StringComparison.OrdinalIgnoreCase)) continue;
            if (_containerName is not null && pod.Status!.ContainerStatuses?.Any(s => s.Name == _containerName && s.State?.Waiting is not null) == true)
                continue;
            var ip = pod.Status!.PodIP;
            if (string.IsNullOrWhiteSpace(ip) || !IPAddress.TryParse(ip, out var address)) continue;

            int? port = null;
            if (portName is not null)
            {
                var named = (pod.Spec?.Containers ?? [])
                    .Where(c => _containerName is null || c.Name == _containerName)
                    .SelectMany(c => c.Ports ?? [])
                    .FirstOrDefault(p => p.Name == portName);
                if (named is null) continue;
                port = named.ContainerPort;
            }
            var host = _rawIp ? ip : $"{ip.Replace('.', '-').Replace(':', '-')}.{PodNamespace}.pod.{_podDomain}";
            yield return new ResolvedTarget(host, port, address);
        }
    }

    private X509Certificate2Collection? TryLoadCertificates(string path)
    {
        try
        {
            var certs = new X509Certificate2Collection();
            certs.ImportFromPemFile(path);
            return certs;
        }
        catch (Exception e) when (e is IOException or System.Security.Cryptography.CryptographicException or UnauthorizedAccessException)
        {
            _log.Error(e, "Kubernetes pod discovery: cannot read the API CA certificate {0}; the system trust store decides", path);
            return null;
        }
    }

    private string? ReadFile(string path)
    {
        try
        {
            return File.Exists(path) ? File.ReadAllText(path).Trim() : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _log.Warning("Kubernetes pod discovery: cannot read {0}: {1}", path, e.Message);
            return null;
        }
    }

    private static string? NullIfBlank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    /// <summary>Disposes the API client.</summary>
    public void Dispose() => _client?.Dispose();
}

/// <summary>A Kubernetes pod lookup that failed; the message says where and why, in one line.</summary>
public sealed class KubernetesDiscoveryException(string message, Exception? inner = null) : Exception(message, inner);
