#!/usr/bin/env python3
"""The checks of deploy/test-images.sh, on images it built: a gateway and two worker containers as k8s/*.yaml runs them.

Every container runs with --network host on its own loopback address (127.0.0.20-29), with the user, read-only root,
dropped capabilities, emptyDir mounts (as tmpfs), stop grace, arguments and environment of its Deployment. What differs
from a pod, because these containers share one host and there is no Kubernetes API:
  - the downward API's pod IP is the container's loopback address; Secret values are made up for the run;
  - a value equal to a declared containerPort becomes that port's test port (PORTER_TEST_PORTS), and an address "*"
    becomes the container's own address (on a shared host network "*" would take the port on every address);
  - kubernetes-api discovery becomes config discovery over the same pods' management ports (Cluster Bootstrap still
    decides who forms the cluster), and the journal is PORTER_TEST_POSTGRES when set, else SQLite in the data dir.
Every container it starts carries the label PORTER_TEST_RUN and is removed at the end, also on failure.
"""
import argparse
import json
import os
import random
import re
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PODMAN = shlex.split(os.environ.get("PORTER_TEST_PODMAN", "podman"))
RUN = os.environ.get("PORTER_TEST_RUN", f"porter-test-images-{os.getpid()}")
GATEWAY_IP, WORKER_IPS, DERIVED_IP = "127.0.0.20", ["127.0.0.21", "127.0.0.22"], "127.0.0.23"
HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))
STARTED = time.monotonic()


def log(message):
    print(f"test-images: [{time.monotonic() - STARTED:.0f}s] {message}", file=sys.stderr, flush=True)


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


def podman(*args, timeout=300, check_rc=True):
    result = subprocess.run([*PODMAN, *args], capture_output=True, text=True, timeout=timeout)
    if check_rc and result.returncode != 0:
        raise Failure(f"podman {' '.join(args)} exited {result.returncode}: {result.stderr.strip()}")
    return result


def get(url, headers=None, timeout=10):
    """(status, headers, body) of a GET; status 0 when nothing answered."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with HTTP.open(request, timeout=timeout) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode(errors="replace")
    except (urllib.error.URLError, OSError) as e:
        return 0, {}, str(e)


def poll(what, probe, timeout):
    """The first non-None answer of probe() within timeout seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = probe()
        if answer is not None:
            return answer
        time.sleep(1)
    raise Failure(f"timed out after {timeout}s waiting for {what}")


def free_ports(count, addresses):
    first, last = (int(p) for p in os.environ.get("PORTER_TEST_PORTS", "30000-31999").split("-"))
    candidates = list(range(first, last + 1))
    random.shuffle(candidates)
    found = []
    for port in candidates:
        try:
            for address in addresses:
                with socket.socket() as s:
                    s.bind((address, port))
            found.append(port)
        except OSError:
            continue
        if len(found) == count:
            return found
    raise Failure(f"no {count} free ports in {first}-{last}")


def deployment(file):
    with open(os.path.join(ROOT, "k8s", file)) as f:
        return next(d for d in yaml.safe_load_all(f) if d and d.get("kind") == "Deployment")


class Pods:
    """Containers started as the manifests' pods would be, sharing one secret set, port set and contact-point list."""

    def __init__(self):
        self.ports = dict(zip(["http", "management", "remoting"], free_ports(3, [GATEWAY_IP, *WORKER_IPS, DERIVED_IP])))
        self.secrets = {"MANAGEMENT_TOKEN": secrets.token_hex(16)}
        self.contact_points = [f"{ip}:{self.ports['management']}" for ip in [GATEWAY_IP, *WORKER_IPS, DERIVED_IP]]
        self.names = []

    def secret(self, key):
        # Keys the manifests reference are made up once per run (a new one added to k8s/ needs nothing here).
        return self.secrets.setdefault(key, secrets.token_hex(16))

    def environment(self, manifest, ip):
        container = manifest["spec"]["template"]["spec"]["containers"][0]
        declared = {str(p["containerPort"]): p["name"] for p in container.get("ports", [])}
        env = {}
        for variable in container.get("env", []):
            name, source = variable["name"], variable.get("valueFrom", {})
            if source.get("fieldRef", {}).get("fieldPath") == "status.podIP":
                value = ip
            elif "secretKeyRef" in source:
                value = self.secret(source["secretKeyRef"]["key"])
            elif "value" in variable:
                value = re.sub(r"\$\((\w+)\)", lambda m: env.get(m.group(1), m.group(0)), str(variable["value"]))
            else:
                raise Failure(f"{manifest['metadata']['name']}: env {name} has a source this test does not know")
            if value in declared:
                value = str(self.ports[declared[value]])
            if value == "*" and name.endswith("ADDRESS"):
                value = ip
            env[name] = value
        if env.get("PORTER__DISCOVERY__METHOD") == "kubernetes-api":
            env["PORTER__DISCOVERY__METHOD"] = "config"
            for i, point in enumerate(self.contact_points):
                env[f"PORTER__DISCOVERY__CONTACTPOINTS__{i}"] = point
        if env.get("PORTER__PERSISTENCE__PROVIDER") == "postgresql":
            if os.environ.get("PORTER_TEST_POSTGRES"):
                env["PORTER__PERSISTENCE__CONNECTIONSTRING"] = os.environ["PORTER_TEST_POSTGRES"]
            else:
                env["PORTER__PERSISTENCE__PROVIDER"] = "sqlite"
                env.pop("PORTER__PERSISTENCE__CONNECTIONSTRING", None)
        return env

    def run_args(self, manifest, image, name, ip, env):
        """podman run arguments for one pod of the Deployment: its security context, volumes, grace and arguments."""
        spec = manifest["spec"]["template"]["spec"]
        container = spec["containers"][0]
        pod_security, security = spec.get("securityContext", {}), container.get("securityContext", {})
        args = ["run", "--detach", "--name", name, "--label", RUN, "--network", "host",
                "--stop-timeout", str(spec.get("terminationGracePeriodSeconds", 30))]
        if "runAsUser" in pod_security:
            args += ["--user", f"{pod_security['runAsUser']}:{pod_security.get('runAsGroup', pod_security['runAsUser'])}"]
        if security.get("readOnlyRootFilesystem"):
            args.append("--read-only")
        for capability in security.get("capabilities", {}).get("drop", []):
            args += ["--cap-drop", capability]
        if security.get("allowPrivilegeEscalation") is False:
            args += ["--security-opt", "no-new-privileges"]
        empty_dirs = {v["name"] for v in spec.get("volumes", []) if "emptyDir" in v}
        for mount in container.get("volumeMounts", []):
            check(mount["name"] in empty_dirs, f"{name}: volume {mount['name']} is not an emptyDir; this test knows no other")
            # An emptyDir with fsGroup 10001 is writable by the pod's user: a tmpfs that anyone may write.
            args += ["--tmpfs", f"{mount['mountPath']}:rw,mode=1777"]
        for key, value in env.items():
            args += ["--env", f"{key}={value}"]
        return args + [image, *container.get("args", [])]

    def start(self, manifest, image, name, ip, env=None):
        env = self.environment(manifest, ip) if env is None else env
        full = f"{RUN}-{name}"
        podman(*self.run_args(manifest, image, full, ip, env))
        self.names.append(full)
        return Pod(full, ip, self.ports)

    def run_to_exit(self, manifest, image, name, ip, env, extra=()):
        """Runs a pod that is expected to stop by itself at once; returns (exit code, stderr, seconds)."""
        args = self.run_args(manifest, image, f"{RUN}-{name}", ip, env)
        args.remove("--detach")
        args[1:1] = ["--rm", *extra]
        started = time.monotonic()
        result = podman(*args, timeout=90, check_rc=False)
        return result.returncode, result.stderr, time.monotonic() - started

    def dump_logs(self):
        for name in self.names:
            result = podman("logs", "--tail", "40", name, check_rc=False, timeout=30)
            print(f"----- {name}\n{result.stdout}{result.stderr}", file=sys.stderr)


class Pod:
    def __init__(self, name, ip, ports):
        self.name, self.ip = name, ip
        self.url = f"http://{ip}:{ports['http']}"
        self.management = f"http://{ip}:{ports['management']}"

    def json(self, path):
        status, _, body = get(self.management + path)
        return json.loads(body) if status == 200 else None

    def up_members(self):
        members = self.json("/cluster/members")
        return [m for m in members["members"] if m["status"] == "Up"] if members else []

    def exited(self):
        state = json.loads(podman("inspect", "--format", "{{json .State}}", self.name).stdout)
        return state["Status"] == "exited", state.get("ExitCode")


def one_line_error(what, outcome, expected):
    code, stderr, seconds = outcome
    # Podman's own notes (time="..." level=...) are not the container's.
    lines = [line for line in stderr.splitlines() if line.strip() and not line.startswith('time="')]
    check(code != 0, f"{what}: exited {code}, expected a failure")
    check(seconds < 60, f"{what}: took {seconds:.0f}s to exit")
    check(len(lines) == 1 and lines[0].startswith("porter: ") and expected in lines[0],
          f"{what}: expected one line 'porter: ...{expected}...', got:\n{stderr}")
    log(f"{what}: exit {code} after {seconds:.1f}s: {lines[0]}")


def check_image(image, program, worker):
    def sh(script):
        return podman("run", "--rm", "--network", "none", "--user", "10001:10001", "--entrypoint", "sh", image, "-c", script,
                      check_rc=False, timeout=60)
    config = json.loads(podman("image", "inspect", image).stdout)[0]["Config"]
    check(not any(e.startswith("DOTNET_gcServer") for e in config.get("Env", [])), f"{image} overrides the GC mode")
    inspected = json.loads(podman("image", "inspect", image).stdout)[0]
    check((inspected.get("Healthcheck") or config.get("Healthcheck") or {}).get("Test"), f"{image} has no HEALTHCHECK")
    runtime_config = json.loads(sh(f"cat /opt/porter/{program}.runtimeconfig.json").stdout)
    check(runtime_config["runtimeOptions"]["configProperties"].get("System.GC.Server") is False, f"{image}: server GC")
    shipped = sh("find /opt/porter -name '*.pdb' -o -name '*.xml'").stdout.split()
    check(not shipped, f"{image} ships {shipped[:5]}")
    check(sh("test ! -w /opt/porter && test ! -w /usr/local/bin").returncode == 0, f"{image}: the app user can write its code")
    check(not sh("ls /var/lib/apt/lists 2>/dev/null | grep -v -e '^lock$' -e '^partial$' || true").stdout.strip(),
          f"{image} keeps apt package lists")
    if worker:
        check(sh("test ! -w /app && test -w /app/tmp && test -z \"$(ls -A /app | grep -vx tmp)\"").returncode == 0,
              f"{image}: /app must be empty and read-only for the app user, /app/tmp writable")
        version = sh("node --version").stdout.strip()
        check(re.fullmatch(r"v(2[2-9]|[3-9]\d)\.\d+\.\d+", version) is not None, f"{image}: Node.js {version!r} is too old")
        log(f"{image}: Node.js {version}, {sh('python3 --version').stdout.strip()}")


def load_loop(url, clients, max_requests, max_seconds):
    """Starts clients GETting url until stopped or a bound is hit; returns (outcomes, stop)."""
    outcomes, stop, lock = [], threading.Event(), threading.Lock()
    deadline = time.monotonic() + max_seconds

    def client():
        while not stop.is_set() and time.monotonic() < deadline:
            with lock:
                if len(outcomes) >= max_requests:
                    return
            status, _, body = get(url, timeout=30)
            with lock:
                outcomes.append((status, body))

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()

    def finish():
        stop.set()
        for t in threads:
            t.join(60)
        return list(outcomes)
    return outcomes, finish


def wait_for_more(outcomes, count, timeout=90):
    target = len(outcomes) + count
    poll(f"{count} more requests", lambda: True if len(outcomes) >= target else None, timeout)


def derived_image(base, tag, app_dir):
    """The README's recipe for an app of one's own: FROM the worker image, COPY the app into /app."""
    context = tempfile.mkdtemp(prefix="porter-derived-")
    try:
        shutil.copytree(app_dir, os.path.join(context, "app"), ignore=shutil.ignore_patterns("tmp", "__pycache__"))
        with open(os.path.join(context, "app", "Dockerfile"), "w") as f:
            f.write(f"FROM {base}\nCOPY . /app\n")
        subprocess.run(["buildah", "bud", "--quiet", "--isolation", "chroot", "--layers", "--format", "docker", "--pull=never",
                        "-t", tag, os.path.join(context, "app")], check=True, capture_output=True, timeout=300)
    finally:
        shutil.rmtree(context)


def render_kustomization():
    """What `kubectl apply -k k8s/` would send, rendered with the example Secret source (when kubectl is here)."""
    if not shutil.which("kubectl"):
        log("kubectl is not installed: the kustomization is not rendered")
        return
    with tempfile.TemporaryDirectory(prefix="porter-k8s-") as copy:
        shutil.copytree(os.path.join(ROOT, "k8s"), os.path.join(copy, "k8s"), ignore=shutil.ignore_patterns("secrets.env"))
        shutil.copy(os.path.join(copy, "k8s", "secrets.env.example"), os.path.join(copy, "k8s", "secrets.env"))
        result = subprocess.run(["kubectl", "kustomize", os.path.join(copy, "k8s")], capture_output=True, text=True, timeout=60)
    check(result.returncode == 0, f"kubectl kustomize k8s/ failed: {result.stderr.strip()}")
    kinds = sorted(d["kind"] for d in yaml.safe_load_all(result.stdout) if d)
    check(kinds.count("Deployment") == 2 and "Secret" in kinds, f"kubectl kustomize k8s/ rendered {kinds}")
    log(f"kubectl kustomize k8s/: {len(kinds)} objects")


def image_size_mb(image):
    return json.loads(podman("image", "inspect", image).stdout)[0]["Size"] / 1e6


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--gateway", required=True)
    parser.add_argument("--worker", required=True)
    images = parser.parse_args()
    gateway_manifest, worker_manifest = deployment("gateway.yaml"), deployment("worker.yaml")
    pods = Pods()
    log(f"ports {pods.ports}, gateway {GATEWAY_IP}, workers {', '.join(WORKER_IPS)}")
    try:
        render_kustomization()
        check_image(images.gateway, "porter", worker=False)
        check_image(images.worker, "porter-worker", worker=True)

        # Bad input: each container stops at once with one line naming what is missing.
        env = pods.environment(worker_manifest, WORKER_IPS[0])
        alone = {k: v for k, v in env.items() if not k.startswith("PORTER__DISCOVERY__")}
        one_line_error("worker without seed nodes or discovery",
                       pods.run_to_exit(worker_manifest, images.worker, "alone", WORKER_IPS[0], alone), "PORTER__SEEDNODES__0")
        one_line_error("unwritable data dir",
                       pods.run_to_exit(worker_manifest, images.worker, "readonly", WORKER_IPS[0],
                                        {**env, "PORTER__DATADIR": "/opt/porter/data"}), "PORTER__DATADIR")
        one_line_error("kubernetes-api discovery outside Kubernetes",
                       pods.run_to_exit(worker_manifest, images.worker, "nokube", WORKER_IPS[0],
                                        {**env, "PORTER__DISCOVERY__METHOD": "kubernetes-api"}), "KUBERNETES_SERVICE_HOST")
        no_address = {k: v for k, v in env.items() if k not in ("PORTER__HOSTNAME", "PORTER__ADDRESS")}
        args = pods.run_args(worker_manifest, images.worker, f"{RUN}-noaddress", WORKER_IPS[0], no_address)
        args = ["run", "--rm", "--network", "none", *args[args.index("host") + 1:]]
        args.remove("--detach") if "--detach" in args else None
        started = time.monotonic()
        result = podman(*args, timeout=90, check_rc=False)
        one_line_error("no address of its own", (result.returncode, result.stderr, time.monotonic() - started), "PORTER__HOSTNAME")
        empty_app = tempfile.mkdtemp(prefix="porter-empty-app-")
        with open(os.path.join(empty_app, "README.md"), "w") as f:
            f.write("not an app\n")
        derived_image(images.worker, f"localhost/{RUN}-noapp:latest", empty_app)
        shutil.rmtree(empty_app)
        one_line_error("an app folder without an app",
                       pods.run_to_exit(worker_manifest, f"localhost/{RUN}-noapp:latest", "noapp", WORKER_IPS[0], env),
                       "cannot tell how to start the app in /app")
        podman("image", "rm", f"localhost/{RUN}-noapp:latest", check_rc=False)

        # The cluster: started together, as a rollout starts them; bootstrap forms it.
        gateway = pods.start(gateway_manifest, images.gateway, "gateway", GATEWAY_IP)
        workers = [pods.start(worker_manifest, images.worker, f"worker-{i}", ip) for i, ip in enumerate(WORKER_IPS)]
        t = time.monotonic()
        members = poll("3 Up members", lambda: (m if len(m := gateway.up_members()) == 3 else None), 180)
        check(sorted(",".join(m["roles"]) for m in members) == ["cache,gateway", "worker", "worker"], f"roles: {members}")
        log(f"cluster of 3 Up after {time.monotonic() - t:.0f}s")
        for pod in [gateway, *workers]:
            health = podman("healthcheck", "run", pod.name, check_rc=False, timeout=60)
            check(health.returncode == 0, f"{pod.name}: HEALTHCHECK failed: {health.stdout}{health.stderr}")

        # A request through the gateway reaches the app in a worker container.
        body = poll("the gateway to serve the app", lambda: (b if (s := get(gateway.url + "/"))[0] == 200 and "hello-node" in (b := s[2]) else None), 120)
        log(f"GET / through the gateway: {body.strip()}")
        pool = poll("both workers in /pool", lambda: (p if (p := gateway.json("/pool")) and len(p["nodes"]) == 2
                                                       and all(n.get("apps") for n in p["nodes"]) else None), 60)
        nodes = {re.search(r"@([\d.]+):", n["node"]).group(1): n for n in pool["nodes"]}
        check(sorted(nodes) == sorted(WORKER_IPS), f"/pool lists {sorted(nodes)}, not the workers {WORKER_IPS}")
        pids = {ip: {p["pid"] for a in n["apps"] if a["name"] == "app" for p in a["processes"]} for ip, n in nodes.items()}
        check(all(pids.values()), f"/pool: a worker runs no process of app 'app': {pool}")
        status, _, pid = get(gateway.url + "/pid")
        check(status == 200 and any(int(pid) in s for s in pids.values()), f"/pid answered {status} {pid}, not a worker's process {pids}")

        # A cacheable answer is a hit the second time.
        first, second = get(gateway.url + "/cached"), get(gateway.url + "/cached")
        check(first[0] == 200 and second[0] == 200 and second[1].get("X-Cache") == "HIT" and first[2] == second[2],
              f"/cached: {first[1].get('X-Cache')} then {second[1].get('X-Cache')}")

        # podman stop of a worker under load: it leaves, drains, exits 0, and no request fails.
        outcomes, finish = load_loop(gateway.url + "/", clients=4, max_requests=20000, max_seconds=120)
        wait_for_more(outcomes, 100)
        t = time.monotonic()
        podman("stop", workers[0].name, timeout=120)
        stop_seconds = time.monotonic() - t
        wait_for_more(outcomes, 200)
        results = finish()
        failed = [o for o in results if o[0] != 200]
        check(not failed, f"{len(failed)} of {len(results)} requests failed during the stop, e.g. {failed[:3]}")
        exited, code = workers[0].exited()
        check(exited and code == 0, f"the stopped worker exited with {code}")
        log(f"podman stop of a worker under load: {len(results)} requests, 0 failed; stop took {stop_seconds:.1f}s, exit 0")

        # A derived image with a Python app serves the Python app (the other worker leaves first: same app name).
        derived = "localhost/porter-test-python:latest"
        derived_image(images.worker, derived, os.path.join(ROOT, "examples", "hello-python"))
        podman("stop", workers[1].name, timeout=120)
        pods.start(worker_manifest, derived, "python", DERIVED_IP)
        body = poll("the Python app through the gateway", lambda: (b if (s := get(gateway.url + "/"))[0] == 200 and "hello-python" in (b := s[2]) else None), 120)
        log(f"derived image: {body.strip()}")

        sizes = {image: image_size_mb(image) for image in [images.gateway, images.worker, derived]}
        log("image sizes: " + ", ".join(f"{image} {mb:.0f} MB" for image, mb in sizes.items()))
        log("all checks passed")
        return 0
    except Failure as e:
        log(f"FAILED: {e}")
        pods.dump_logs()
        return 1
    finally:
        ids = podman("ps", "-aq", "--filter", f"label={RUN}", check_rc=False).stdout.split()
        if ids:
            podman("rm", "-f", "-t", "0", *ids, check_rc=False)


if __name__ == "__main__":
    sys.exit(main())
