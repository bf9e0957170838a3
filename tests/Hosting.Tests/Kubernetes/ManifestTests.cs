using k8s;
using k8s.Models;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Porter.Hosting.Tests.Kubernetes;

/// <summary>
/// The kustomize base in k8s/, loaded as the API server would read it (KubernetesClient's YAML loader, every file that
/// kustomization.yaml lists): probes, identity, selectors, discovery and secrets must agree with each other.
/// </summary>
public sealed class ManifestTests
{
    private static readonly string K8sDir = Path.Combine(RepositoryRoot(), "k8s");
    private static readonly Kustomization Base = LoadKustomization();
    private static readonly List<object> Objects = Base.Resources
        .SelectMany(file => KubernetesYaml.LoadAllFromString(File.ReadAllText(Path.Combine(K8sDir, file))))
        .ToList();

    private static IEnumerable<V1Deployment> Deployments => Objects.OfType<V1Deployment>();

    /// <summary>Pod templates of every workload, by workload name.</summary>
    private static IEnumerable<(string Name, V1PodTemplateSpec Template)> Workloads =>
        Deployments.Select(d => (d.Metadata.Name, d.Spec.Template))
            .Concat(Objects.OfType<V1StatefulSet>().Select(s => (s.Metadata.Name, s.Spec.Template)));

    [Fact]
    public void The_base_has_the_objects_porter_needs()
    {
        Assert.Equal("porter", Base.Namespace);
        Assert.Equal(["porter-gateway", "porter-worker"], Deployments.Select(d => d.Metadata.Name).Order(StringComparer.Ordinal));
        Assert.Single(Objects.OfType<V1Namespace>(), n => n.Metadata.Name == Base.Namespace);
        Assert.Single(Objects.OfType<V1StatefulSet>(), s => s.Spec.VolumeClaimTemplates?.Count == 1);
        Assert.Equal(2, Objects.OfType<V1PodDisruptionBudget>().Count());
        Assert.Equal(2, Objects.OfType<V2HorizontalPodAutoscaler>().Count());
        Assert.Equal(3, Objects.OfType<V1NetworkPolicy>().Count());
    }

    [Fact]
    public void Network_policies_admit_worker_and_cluster_traffic_only_from_the_clusters_pods()
    {
        // "The cluster's pods": the label every gateway and worker carries, and the database does not.
        var clusterPods = new Dictionary<string, string> { ["app.kubernetes.io/part-of"] = "porter" };
        Assert.All(Deployments, d => Assert.True(Matches(clusterPods, d.Spec.Template.Metadata.Labels)));
        Assert.All(Objects.OfType<V1StatefulSet>(), s => Assert.False(Matches(clusterPods, s.Spec.Template.Metadata.Labels)));

        foreach (var (name, template) in Workloads)
        {
            var policy = Assert.Single(Objects.OfType<V1NetworkPolicy>(), p => Matches(p.Spec.PodSelector.MatchLabels, template.Metadata.Labels));
            Assert.Contains("Ingress", policy.Spec.PolicyTypes);
            var declared = template.Spec.Containers.SelectMany(c => c.Ports).Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
            var open = new HashSet<string>(StringComparer.Ordinal);
            var clusterOnly = new HashSet<string>(StringComparer.Ordinal);
            foreach (var rule in policy.Spec.Ingress)
            {
                var ports = rule.Ports.Select(p => p.Port.Value).ToList();
                Assert.All(ports, port => Assert.True(declared.Contains(port), $"{policy.Metadata.Name} names port '{port}' that {name} does not declare"));
                if (rule.FromProperty is not { Count: > 0 } from)
                {
                    open.UnionWith(ports);
                    continue;
                }
                // Only pods of this namespace with the cluster's label: no namespace or IP block widens it.
                var peer = Assert.Single(from);
                Assert.Null(peer.NamespaceSelector);
                Assert.Null(peer.IpBlock);
                Assert.Equal(clusterPods, peer.PodSelector.MatchLabels);
                clusterOnly.UnionWith(ports);
            }
            // Remoting and management (and a worker's internal HTTP listener, and the database) are the cluster's own;
            // only a gateway's public port is open to everyone.
            Assert.Equal(name == "porter-gateway" ? ["http"] : [], open.Order(StringComparer.Ordinal));
            Assert.Equal(name switch
            {
                "porter-worker" => ["http", "management", "remoting"],
                "porter-gateway" => ["management", "remoting"],
                _ => ["postgres"],
            }, clusterOnly.Order(StringComparer.Ordinal));
        }
    }

    [Fact]
    public void Every_deployments_probes_use_a_management_port_its_container_declares()
    {
        foreach (var deployment in Deployments)
        {
            var container = Assert.Single(deployment.Spec.Template.Spec.Containers);
            var ports = container.Ports.Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
            Assert.Contains("management", ports);
            Assert.Contains("remoting", ports);
            var probes = new[] { container.LivenessProbe, container.ReadinessProbe, container.StartupProbe }.Where(p => p is not null).ToList();
            Assert.True(probes.Count >= 2, $"{deployment.Metadata.Name} needs liveness and readiness probes");
            foreach (var probe in probes)
            {
                // An HTTP check of the node's own health, not a TCP port that opens before the node is up.
                Assert.NotNull(probe!.HttpGet);
                Assert.Equal("management", probe.HttpGet.Port.Value);
            }
            Assert.Equal("/alive", container.LivenessProbe!.HttpGet.Path);
            Assert.Equal("/ready", container.ReadinessProbe!.HttpGet.Path);
        }
    }

    [Fact]
    public void The_pods_run_as_a_dedicated_service_account_bound_to_the_pod_reader_role()
    {
        var role = Assert.Single(Objects.OfType<V1Role>(), r => r.Metadata.Name == "pod-reader");
        var rule = Assert.Single(role.Rules);
        Assert.Equal([""], rule.ApiGroups);
        Assert.Equal(["pods"], rule.Resources);
        Assert.Equal(["get", "list", "watch"], rule.Verbs.Order(StringComparer.Ordinal));

        foreach (var deployment in Deployments)
        {
            var account = deployment.Spec.Template.Spec.ServiceAccountName;
            Assert.False(string.IsNullOrEmpty(account) || account == "default", $"{deployment.Metadata.Name} must not run as the default service account");
            Assert.Single(Objects.OfType<V1ServiceAccount>(), a => a.Metadata.Name == account);
            Assert.Contains(Objects.OfType<V1RoleBinding>(), binding =>
                binding.RoleRef.Kind == "Role" && binding.RoleRef.Name == role.Metadata.Name &&
                binding.Subjects.Any(s => s.Kind == "ServiceAccount" && s.Name == account && (s.NamespaceProperty ?? Base.Namespace) == Base.Namespace));
        }
        Assert.DoesNotContain(Objects.OfType<V1RoleBinding>(), b => b.Subjects.Any(s => s.Name == "default"));
    }

    [Fact]
    public void Selectors_match_the_pod_labels_they_target()
    {
        foreach (var deployment in Deployments)
            Assert.True(Matches(deployment.Spec.Selector.MatchLabels, deployment.Spec.Template.Metadata.Labels),
                $"{deployment.Metadata.Name}'s selector does not match its own pods");

        foreach (var service in Objects.OfType<V1Service>())
        {
            var targets = Workloads.Where(w => Matches(service.Spec.Selector, w.Template.Metadata.Labels)).ToList();
            var target = Assert.Single(targets);
            var containerPorts = target.Template.Spec.Containers.SelectMany(c => c.Ports).Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
            foreach (var port in service.Spec.Ports)
                Assert.True(containerPorts.Contains(port.TargetPort.Value), $"service {service.Metadata.Name} targets port '{port.TargetPort.Value}' that {target.Name} does not declare");
        }

        foreach (var budget in Objects.OfType<V1PodDisruptionBudget>())
            Assert.Single(Workloads, w => Matches(budget.Spec.Selector.MatchLabels, w.Template.Metadata.Labels));

        foreach (var scaler in Objects.OfType<V2HorizontalPodAutoscaler>())
        {
            Assert.Equal(("apps/v1", "Deployment"), (scaler.Spec.ScaleTargetRef.ApiVersion, scaler.Spec.ScaleTargetRef.Kind));
            Assert.Single(Deployments, d => d.Metadata.Name == scaler.Spec.ScaleTargetRef.Name);
        }
    }

    [Fact]
    public void Each_deployment_has_a_headless_service_with_named_management_and_remoting_ports()
    {
        foreach (var deployment in Deployments)
        {
            var headless = Objects.OfType<V1Service>()
                .Where(s => s.Spec.ClusterIP == "None" && Matches(s.Spec.Selector, deployment.Spec.Template.Metadata.Labels))
                .ToList();
            var service = Assert.Single(headless);
            var names = service.Spec.Ports.Select(p => p.Name).ToList();
            Assert.Contains("management", names);
            Assert.Contains("remoting", names);
            Assert.True(service.Spec.PublishNotReadyAddresses, "bootstrap reaches pods before they are ready");
        }
    }

    [Fact]
    public void The_discovery_label_selector_in_the_environment_matches_every_porter_pod_and_nothing_else()
    {
        foreach (var deployment in Deployments)
        {
            var env = Env(deployment);
            Assert.Equal("kubernetes-api", env["PORTER__DISCOVERY__METHOD"].Value);
            Assert.Equal("management", env["PORTER__DISCOVERY__PORTNAME"].Value);
            Assert.Equal("status.podIP", env["PORTER__HOSTNAME"].ValueFrom.FieldRef.FieldPath);
            var selector = string.Format(System.Globalization.CultureInfo.InvariantCulture,
                env["PORTER__DISCOVERY__PODLABELSELECTOR"].Value, env["PORTER__DISCOVERY__SERVICENAME"].Value);
            var required = selector.Split(',').Select(p => p.Split('=')).ToDictionary(p => p[0].Trim(), p => p[1].Trim());

            // Gateways and workers form one cluster: the selector finds both kinds of pods, and never the database.
            Assert.All(Deployments, d => Assert.True(Matches(required, d.Spec.Template.Metadata.Labels),
                $"{deployment.Metadata.Name}'s selector '{selector}' misses {d.Metadata.Name}'s pods"));
            Assert.All(Objects.OfType<V1StatefulSet>(), s => Assert.False(Matches(required, s.Spec.Template.Metadata.Labels)));

            var contactPoints = int.Parse(env["PORTER__DISCOVERY__REQUIREDCONTACTPOINTS"].Value, System.Globalization.CultureInfo.InvariantCulture);
            Assert.InRange(contactPoints, 1, Deployments.Sum(d => d.Spec.Replicas ?? 1));
        }
    }

    [Fact]
    public void The_grace_period_covers_pre_stop_and_the_nodes_drain()
    {
        foreach (var deployment in Deployments)
        {
            var container = Assert.Single(deployment.Spec.Template.Spec.Containers);
            var grace = double.Parse(Env(deployment)["PORTER__SHUTDOWNGRACE"].Value, System.Globalization.CultureInfo.InvariantCulture);
            var preStop = container.Lifecycle.PreStop.Exec.Command;
            Assert.Equal("sleep", preStop[0]);
            // The node's host timeout is 2 x ShutdownGrace + 5 s (Kestrel drains, then app processes get their grace).
            var needed = double.Parse(preStop[1], System.Globalization.CultureInfo.InvariantCulture) + grace * 2 + 5;
            Assert.True(deployment.Spec.Template.Spec.TerminationGracePeriodSeconds >= needed,
                $"{deployment.Metadata.Name}: terminationGracePeriodSeconds must be at least {needed}");
        }
    }

    [Fact]
    public void Every_container_sets_resource_requests_and_limits()
    {
        foreach (var (name, template) in Workloads)
            foreach (var container in template.Spec.Containers)
            {
                Assert.True(container.Resources?.Requests?.ContainsKey("cpu") == true && container.Resources.Requests.ContainsKey("memory"), $"{name}/{container.Name} requests");
                Assert.True(container.Resources?.Limits?.ContainsKey("cpu") == true && container.Resources.Limits.ContainsKey("memory"), $"{name}/{container.Name} limits");
            }
    }

    [Fact]
    public void No_secret_value_is_committed()
    {
        // Secrets come only from kustomize's generator, which reads a file that git ignores.
        Assert.DoesNotContain(Objects, o => o is V1Secret);
        var generator = Assert.Single(Base.SecretGenerator);
        var ignored = File.ReadAllLines(Path.Combine(RepositoryRoot(), ".gitignore")).Select(l => l.Trim()).ToHashSet(StringComparer.Ordinal);
        foreach (var source in generator.Envs.Concat(generator.Files))
        {
            Assert.Contains($"k8s/{source}", ignored);
            Assert.True(File.Exists(Path.Combine(K8sDir, $"{source}.example")), $"k8s/{source}.example shows which keys to put in k8s/{source}");
        }
        Assert.Empty(generator.Literals);

        // Credentials reach the pods by reference only.
        foreach (var (name, template) in Workloads)
            foreach (var variable in template.Spec.Containers.SelectMany(c => c.Env ?? []))
                if (variable.Name.Contains("PASSWORD", StringComparison.Ordinal) || variable.Name.Contains("TOKEN", StringComparison.Ordinal)
                    || variable.Name.Contains("SECRET", StringComparison.Ordinal))
                    Assert.True(variable.ValueFrom?.SecretKeyRef?.Name == generator.Name, $"{name}: {variable.Name} must come from the {generator.Name} Secret");
    }

    [Fact]
    public void Gateways_and_workers_share_the_cluster_secret_from_the_secret()
    {
        // Workers refuse what gateways forward unless both sign with the same secret; on pod IPs a node without it exits.
        var keys = Deployments.Select(d => Env(d)["PORTER__CLUSTERSECRET"].ValueFrom.SecretKeyRef).ToList();
        Assert.All(keys, key => Assert.Equal((Base.SecretGenerator[0].Name, "CLUSTER_SECRET"), (key.Name, key.Key)));
        var example = File.ReadAllLines(Path.Combine(K8sDir, "secrets.env.example"));
        Assert.Contains(example, line => line.StartsWith("CLUSTER_SECRET=", StringComparison.Ordinal) && line.Length > "CLUSTER_SECRET=".Length + 16);
    }

    private static Dictionary<string, V1EnvVar> Env(V1Deployment deployment) =>
        Assert.Single(deployment.Spec.Template.Spec.Containers).Env.ToDictionary(e => e.Name, StringComparer.Ordinal);

    /// <summary>A selector matches labels when every key it names has its value there (an empty selector matches nothing).</summary>
    private static bool Matches(IDictionary<string, string>? selector, IDictionary<string, string>? labels) =>
        selector is { Count: > 0 } && labels is not null && selector.All(s => labels.TryGetValue(s.Key, out var value) && value == s.Value);

    private static Kustomization LoadKustomization() =>
        new DeserializerBuilder()
            .WithNamingConvention(CamelCaseNamingConvention.Instance)
            .IgnoreUnmatchedProperties()
            .Build()
            .Deserialize<Kustomization>(File.ReadAllText(Path.Combine(K8sDir, "kustomization.yaml")));

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Cluster.sln"))) return dir.FullName;
        throw new InvalidOperationException("Cluster.sln not found above the test's directory");
    }

    /// <summary>The parts of kustomization.yaml the checks read.</summary>
    private sealed class Kustomization
    {
        public string Namespace { get; set; } = "";
        public List<string> Resources { get; set; } = new();
        public List<SecretGeneratorEntry> SecretGenerator { get; set; } = new();
    }

    private sealed class SecretGeneratorEntry
    {
        public string Name { get; set; } = "";
        public List<string> Envs { get; set; } = new();
        public List<string> Files { get; set; } = new();
        public List<string> Literals { get; set; } = new();
    }
}
