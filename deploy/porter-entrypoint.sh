#!/bin/sh
# The entrypoint of both images: porter-entrypoint PROGRAM.dll VERB [options]. It fills in what a node in a container
# needs and a node on a laptop does not, then runs the program. Each is a default: a PORTER__ variable given with
# `docker run -e` or by a manifest wins, and so do flags.
set -eu
program=$1
shift
verb=${1:-}

# The node's own address, which it advertises to the cluster (remoting, a worker's endpoint, its contact point):
# the container's, as its host name resolves (Docker, Podman and Kubernetes map it to the container's IP).
if [ -z "${PORTER__HOSTNAME:-}" ]; then
  name=$(cat /proc/sys/kernel/hostname)
  PORTER__HOSTNAME=$({ getent ahostsv4 "$name"; getent hosts "$name"; } 2>/dev/null | cut -d' ' -f1 \
    | grep -E '^[0-9]+(\.[0-9]+){3}$' | grep -v '^127\.' | head -n 1 || true)
  if [ -z "$PORTER__HOSTNAME" ]; then
    echo "porter: cannot tell this container's address (its host name '$name' resolves to no address but loopback): set PORTER__HOSTNAME to the address other nodes reach it on" >&2
    exit 2
  fi
  export PORTER__HOSTNAME
  # Nobody chose where the node binds, so the container has a network of its own: its listeners take every address
  # of it (docker run -p, kubectl port-forward and the HEALTHCHECK reach them). A PORTER__HOSTNAME given means a
  # shared network maybe (--network host): then the node binds that address only, unless told otherwise.
  export PORTER__ADDRESS="${PORTER__ADDRESS:-*}"
  export PORTER__MANAGEMENT__ADDRESS="${PORTER__MANAGEMENT__ADDRESS:-*}"
fi

# The ports EXPOSE names (the worker image sets PORTER__PORT=5000; 3000 and 8558 are the programs' own defaults).
export PORTER__REMOTINGPORT="${PORTER__REMOTINGPORT:-4053}"
# Gateways and workers must agree on the app's name: both images call the app they serve "app".
export PORTER__APP__NAME="${PORTER__APP__NAME:-app}"
# /tmp is the one place a read-only container writes (an emptyDir or tmpfs); a volume there keeps the journal.
export PORTER__DATADIR="${PORTER__DATADIR:-/tmp/porter}"

# The worker image serves /app; while /app is empty (the image as built, before an app is copied in) it serves the
# example app it carries, and says so. An app folder given on the command line or as PORTER__APP__ROOT is used as is.
if [ -d /app ] && [ -z "${PORTER__APP__ROOT:-}" ]; then
  if [ -n "$(ls -A /app | grep -vx tmp || true)" ] || [ ! -d /opt/porter/example-app ]; then
    export PORTER__APP__ROOT=/app
  else
    export PORTER__APP__ROOT=/opt/porter/example-app
    if [ "$verb" = worker ]; then
      echo "porter: /app holds no app, so this container serves the image's example app ($PORTER__APP__ROOT); copy yours into /app (FROM porter-worker, COPY . /app)"
    fi
  fi
fi

exec dotnet "$program" "$@"
