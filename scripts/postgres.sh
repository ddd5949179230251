#!/usr/bin/env bash
# Starts a throwaway PostgreSQL for the tests and benchmarks (installing
# Debian's package first if need be) and prints its URL. Safe to run again:
# a server already running is reused.
set -euo pipefail
dir="${HITL_PG_DIR:-/tmp/hitl-postgres}"
port="${HITL_PG_PORT:-54329}"
say() { echo "postgres: $*" >&2; }
as_root() { if [[ $(id -u) == 0 ]]; then "$@"; else sudo "$@"; fi; }

if ! ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
  say "installing PostgreSQL"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql
fi
bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
# PostgreSQL refuses to run as root: run it as its own user.
if [[ $(id -u) == 0 ]]; then
  owner=postgres
  pg() { runuser -u postgres -- "$@"; }
else
  owner="$(id -un)"
  pg() { "$@"; }
fi
if [[ ! -s "$dir/PG_VERSION" ]]; then
  say "creating a cluster in $dir"
  mkdir -p "$dir"
  as_root chown "$owner" "$dir"
  pg "$bin/initdb" -D "$dir" -U postgres -A trust >/dev/null
fi
if ! pg "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
  say "starting on 127.0.0.1:$port"
  pg "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w start \
    -o "-p $port -k /tmp -c listen_addresses=127.0.0.1 -c max_connections=300" >/dev/null
fi
echo "postgres://postgres@127.0.0.1:$port/postgres"
