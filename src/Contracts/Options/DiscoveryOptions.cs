namespace Porter.Contracts.Options;

/// <summary>The values of <see cref="DiscoveryOptions.Method"/>, named as Akka.Discovery names its methods.</summary>
public static class DiscoveryMethods
{
    /// <summary>No discovery: a node without seed nodes forms a cluster of its own.</summary>
    public const string None = "none";

    /// <summary>Cluster Bootstrap over a static list of contact points (<see cref="DiscoveryOptions.ContactPoints"/>).</summary>
    public const string Config = "config";

    /// <summary>Cluster Bootstrap over the Kubernetes API: the pods matching <see cref="DiscoveryOptions.PodLabelSelector"/>.</summary>
    public const string KubernetesApi = "kubernetes-api";

    /// <summary>Every accepted value.</summary>
    public static readonly IReadOnlyList<string> All = [None, Config, KubernetesApi];
}

/// <summary>Cluster formation through Akka.Management Cluster Bootstrap when no seed nodes are given.</summary>
public sealed class DiscoveryOptions
{
    /// <summary>none (default), config or kubernetes-api (see <see cref="DiscoveryMethods"/>).</summary>
    public string Method { get; set; } = DiscoveryMethods.None;

    /// <summary>The service looked up; it fills the <c>{0}</c> of <see cref="PodLabelSelector"/>.</summary>
    public string ServiceName { get; set; } = "porter";

    /// <summary>Kubernetes label selector for the cluster's pods; <c>{0}</c> is replaced by <see cref="ServiceName"/>.</summary>
    public string PodLabelSelector { get; set; } = "app={0}";

    /// <summary>Namespace to list pods in; default: the service account's namespace file.</summary>
    public string? PodNamespace { get; set; }

    /// <summary>The service account's namespace file.</summary>
    public string PodNamespacePath { get; set; } = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

    /// <summary>The service account's bearer token file.</summary>
    public string ApiTokenPath { get; set; } = "/var/run/secrets/kubernetes.io/serviceaccount/token";

    /// <summary>The API server's CA certificate file; when it is missing the system's trust store decides.</summary>
    public string ApiCaPath { get; set; } = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";

    /// <summary>Name of the pods' port that serves the management API (and /bootstrap/seed-nodes).</summary>
    public string PortName { get; set; } = "management";

    /// <summary>Contact points that must be discovered before a new cluster is formed (the initial replicas).</summary>
    public int RequiredContactPoints { get; set; } = 2;

    /// <summary>For config: the contact points, as host:port of their management API.</summary>
    public List<string> ContactPoints { get; set; } = new();
}
