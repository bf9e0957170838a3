# Sourced by .ci/run (and usable alone: `source .ci/postgres.sh && porter_postgres_start`): a throwaway PostgreSQL
# server on 127.0.0.1 for the journal tests. Installs Debian's postgresql when missing, keeps its data in a fresh
# directory, and exports PORTER_TEST_POSTGRES. porter_postgres_stop stops it and removes the directory.

porter_postgres_start() {
  if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
    echo "postgres: installing Debian's postgresql" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  fi
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)

  PORTER_PG_DIR=$(mktemp -d /tmp/porter-ci-postgres.XXXXXX)
  local as=()
  if [ "$(id -u)" = 0 ]; then
    # PostgreSQL refuses to run as root: the server and its files belong to the postgres user.
    chown postgres:postgres "$PORTER_PG_DIR"
    as=(runuser -u postgres --)
  fi
  chmod 700 "$PORTER_PG_DIR"
  local port password
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  password=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
  PORTER_PG_AS=("${as[@]}")
  PORTER_PG_BIN=$bin

  # Local (socket) connections trust the postgres user for the set-up below; TCP needs the password.
  "${as[@]}" "$bin/initdb" -D "$PORTER_PG_DIR/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  "${as[@]}" "$bin/pg_ctl" -D "$PORTER_PG_DIR/data" -l "$PORTER_PG_DIR/server.log" -w \
    -o "-k $PORTER_PG_DIR -h 127.0.0.1 -p $port" start >/dev/null
  "${as[@]}" "$bin/psql" -q -h "$PORTER_PG_DIR" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 \
    -c "CREATE ROLE porter_test LOGIN PASSWORD '$password'" \
    -c "CREATE DATABASE porter_test OWNER porter_test" >/dev/null
  export PORTER_TEST_POSTGRES="Host=127.0.0.1;Port=$port;Database=porter_test;Username=porter_test;Password=$password"
  echo "postgres: $("$bin/postgres" --version) on 127.0.0.1:$port (data in $PORTER_PG_DIR)" >&2
}

porter_postgres_stop() {
  if [ -n "${PORTER_PG_DIR:-}" ] && [ -d "$PORTER_PG_DIR" ]; then
    "${PORTER_PG_AS[@]}" "$PORTER_PG_BIN/pg_ctl" -D "$PORTER_PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$PORTER_PG_DIR"
  fi
  PORTER_PG_DIR=
}
