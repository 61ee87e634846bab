#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the collector's PostgreSQL test suite and benchmarks.
#
#   packages/collector/scripts/pg-test-server.sh start   # initdb + start (idempotent), prints the URL
#   packages/collector/scripts/pg-test-server.sh url     # prints the URL
#   packages/collector/scripts/pg-test-server.sh stop    # stops the cluster and deletes its files
#
#   LINKTRAIL_TEST_DATABASE_URL=$(packages/collector/scripts/pg-test-server.sh url) npx vitest run packages/collector
#
# Needs the PostgreSQL server binaries (Debian: apt-get install postgresql). Listens on
# 127.0.0.1 only, trusts local connections, keeps its files in a temp folder. As root it runs
# the server as the `postgres` user (PostgreSQL refuses to run as root).
# Settings: LINKTRAIL_PG_PORT (54329), LINKTRAIL_PG_DIR (/tmp/linktrail-pg-$PORT).
set -euo pipefail

PORT="${LINKTRAIL_PG_PORT:-54329}"
DIR="${LINKTRAIL_PG_DIR:-/tmp/linktrail-pg-$PORT}"
URL="postgres://linktrail@127.0.0.1:$PORT/linktrail"

bindir() {
  if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
    pg_config --bindir
    return
  fi
  local newest
  newest="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  if [ -z "$newest" ] || [ ! -x "$newest/initdb" ]; then
    echo "pg-test-server: PostgreSQL server binaries not found (Debian: apt-get install postgresql)" >&2
    exit 1
  fi
  echo "$newest"
}

# Runs a command as the cluster's owner: the postgres user when we are root, else ourselves.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    if ! id postgres >/dev/null 2>&1; then
      useradd --system --home-dir /var/lib/postgresql --shell /usr/sbin/nologin postgres
    fi
    # From a folder postgres may enter: initdb and pg_ctl refuse an unreadable cwd.
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

running() {
  [ -f "$DIR/data/postmaster.pid" ] && as_owner "$BIN/pg_ctl" -D "$DIR/data" status >/dev/null 2>&1
}

start() {
  if running; then
    echo "$URL"
    return
  fi
  mkdir -p "$DIR"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$DIR"
  if [ ! -f "$DIR/data/PG_VERSION" ]; then
    as_owner "$BIN/initdb" -D "$DIR/data" -U linktrail --auth=trust -E UTF8 --no-locale >"$DIR/initdb.log" 2>&1 || {
      cat "$DIR/initdb.log" >&2
      exit 1
    }
  fi
  # The socket goes to the cluster's own folder so two clusters never fight over /tmp/.s.PGSQL.*.
  as_owner "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 start \
    -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c max_connections=200" >/dev/null || {
    cat "$DIR/server.log" >&2
    exit 1
  }
  if ! as_owner "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U linktrail -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'linktrail'" | grep -q 1; then
    as_owner "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U linktrail linktrail
  fi
  echo "$URL"
}

stop() {
  if running; then as_owner "$BIN/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null; fi
  rm -rf "$DIR"
}

BIN="$(bindir)"
case "${1:-}" in
  start) start ;;
  stop) stop ;;
  url) echo "$URL" ;;
  *)
    echo "usage: $0 start|stop|url" >&2
    exit 2
    ;;
esac
