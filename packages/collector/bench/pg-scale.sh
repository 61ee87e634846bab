#!/usr/bin/env bash
# What scales how, on this machine, over loopback, bounded in time:
#   1. hits/s of one collector process on SQLite (reference) and on PostgreSQL (with all the
#      connections, then with half: the load each of the two processes gets in 2.),
#   2. hits/s of two collector processes sharing one PostgreSQL database (two wrk at once),
#   3. report times at VISITS visits on PostgreSQL and SQLite (report-time.mjs).
# Besides hits/s it prints the CPU time a hit costs the collector and PostgreSQL, which
# does not depend on what else the machine runs: cores / cost = the ceiling.
# Needs wrk, PostgreSQL's server binaries, and a build (npm run build). Starts its own
# throwaway PostgreSQL cluster (packages/collector/scripts/pg-test-server.sh, default durability: fsync on).
# Settings: DURATION (10s), CONNECTIONS (64, split between processes), THREADS (2), VISITS (100000).
set -euo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
cd "$root"
DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-2}"
VISITS="${VISITS:-100000}"
ADMIN="bench-admin-token-0123456789"
export LINKTRAIL_PG_PORT="${LINKTRAIL_PG_PORT:-54349}" LINKTRAIL_PG_DIR="/tmp/linktrail-bench-pg-$$"
work="$(mktemp -d /tmp/linktrail-bench-XXXXXX)"
pids=()

cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  packages/collector/scripts/pg-test-server.sh stop || true
  rm -rf "$work"
}
trap cleanup EXIT

command -v wrk >/dev/null || { echo "bench: wrk is missing (Debian: apt-get install wrk)" >&2; exit 1; }
[ -f packages/collector/dist/server.js ] || { echo "bench: run npm run build first" >&2; exit 1; }
server_url="$(packages/collector/scripts/pg-test-server.sh start)"

# Starts a collector (extra env as arguments), waits up to 20 s for its port, sets URL.
# Not in a $(subshell): the pid must reach pids for stop_collectors.
start_collector() {
  local log="$work/collector-${#pids[@]}.log"
  # The per-address limiter stays on (its cost is measured) but high enough for one wrk address.
  env PORT=0 HOST=127.0.0.1 LOG_LEVEL=warn LINKTRAIL_DEMO=0 LINKTRAIL_ADMIN_TOKEN="$ADMIN" \
    LINKTRAIL_PUBLIC_RATE_LIMIT=100000000 "$@" \
    node packages/collector/dist/server.js >"$log" 2>&1 &
  pids+=("$!")
  for _ in $(seq 1 200); do
    if grep -qo 'listening on http://[0-9.]*:[0-9]*' "$log"; then
      URL="$(grep -o 'listening on http://[0-9.]*:[0-9]*' "$log" | head -n 1 | cut -d' ' -f3)"
      return
    fi
    sleep 0.1
  done
  cat "$log" >&2
  exit 1
}

stop_collectors() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
}

fresh_db() {
  psql "$server_url" -qc "CREATE DATABASE $1" >/dev/null
  echo "${server_url%/*}/$1"
}

create_site() {
  curl -sf -H "Authorization: Bearer $ADMIN" -H 'content-type: application/json' \
    -d '{"id":"bench","name":"Bench","url":"https://tickets.example.com"}' "$1/api/sites" >/dev/null
}

# wrk against one URL: prints "requests/s" only.
hammer() {
  wrk -t"$THREADS" -c"$2" -d"$DURATION" -s packages/collector/bench/hit.lua "$1" -- "$3" >"$work/wrk-$3.txt"
  grep -q 'non-2xx: 0,' "$work/wrk-$3.txt" || { cat "$work/wrk-$3.txt" >&2; exit 1; }
  awk '/Requests\/sec/ {print $2}' "$work/wrk-$3.txt"
}

# CPU time (clock ticks, user + system) used so far by the given pids.
ticks() {
  local total=0 pid
  for pid in "$@"; do
    [ -r "/proc/$pid/stat" ] && total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
  done
  echo "$total"
}
# The bench cluster's server processes: the postmaster and its children (backends, WAL writer…).
pg_pids() {
  local pm
  pm="$(head -n 1 "$LINKTRAIL_PG_DIR/data/postmaster.pid")"
  echo "$pm" $(ps -o pid= --ppid "$pm")
}
hits_done() { awk '/requests in/ {print $1}' "$work/wrk-$1.txt"; }
# "CPU per hit: collector X µs, PostgreSQL Y µs": machine-load-independent cost of a hit.
cpu_per_hit() {
  local hits=$1 node_ticks=$2 pg_ticks=$3 hz
  hz="$(getconf CLK_TCK)"
  echo "CPU per hit: collector $((node_ticks * 1000000 / hz / hits)) µs, PostgreSQL $((pg_ticks * 1000000 / hz / hits)) µs"
}

echo "== ingest: POST /collect, new visitor per hit, $DURATION, $CONNECTIONS connections, $THREADS wrk threads"
start_collector LINKTRAIL_DB="$work/bench.db"
url="$URL"
create_site "$url"
n0="$(ticks "${pids[@]}")"
# Assigned first: a failed run (any non-2xx answer) then stops the script under set -e.
rate="$(hammer "$url" "$CONNECTIONS" sqlite)"
echo "sqlite, 1 process: $rate hits/s"
echo "  $(cpu_per_hit "$(hits_done sqlite)" $(($(ticks "${pids[@]}") - n0)) 0 | sed 's/, PostgreSQL.*//')"
stop_collectors

db="$(fresh_db bench_one)"
start_collector DATABASE_URL="$db"
url="$URL"
create_site "$url"
n0="$(ticks "${pids[@]}")"
p0="$(ticks $(pg_pids))"
rate="$(hammer "$url" "$CONNECTIONS" pg1)"
echo "postgres, 1 process: $rate hits/s"
echo "  $(cpu_per_hit "$(hits_done pg1)" $(($(ticks "${pids[@]}") - n0)) $(($(ticks $(pg_pids)) - p0)))"
# The load each of the two processes below gets: what a second process adds is measured against this.
n0="$(ticks "${pids[@]}")"
p0="$(ticks $(pg_pids))"
rate="$(hammer "$url" $((CONNECTIONS / 2)) pg1half)"
echo "postgres, 1 process, $((CONNECTIONS / 2)) connections: $rate hits/s"
echo "  $(cpu_per_hit "$(hits_done pg1half)" $(($(ticks "${pids[@]}") - n0)) $(($(ticks $(pg_pids)) - p0)))"
stop_collectors

db="$(fresh_db bench_two)"
start_collector DATABASE_URL="$db"
a="$URL"
start_collector DATABASE_URL="$db"
b="$URL"
create_site "$a"
n0="$(ticks "${pids[@]}")"
p0="$(ticks $(pg_pids))"
hammer "$a" $((CONNECTIONS / 2)) pgA >"$work/a.out" &
wa=$!
hammer "$b" $((CONNECTIONS / 2)) pgB >"$work/b.out"
wait "$wa"
echo "postgres, 2 processes: $(cat "$work/a.out") + $(cat "$work/b.out") hits/s"
echo "  $(cpu_per_hit $(($(hits_done pgA) + $(hits_done pgB))) $(($(ticks "${pids[@]}") - n0)) $(($(ticks $(pg_pids)) - p0)))"
psql "$db" -tAc "SELECT 'stored: ' || COUNT(*) || ' hits, ' || (SELECT COUNT(*) FROM visits) || ' visits' FROM hits"
# Rollup changes are folded after the commits that acknowledge them: folded + pending = visits.
psql "$db" -tAc "SELECT 'rollups: ' || (SELECT COALESCE(SUM(visits), 0) FROM daily_totals) || ' visits folded, '
  || (SELECT COALESCE(SUM(count1), 0) FROM rollup_pending WHERE rollup = 'daily_totals') || ' pending'"
stop_collectors

echo "== reports at $VISITS visits (median of 20 runs, through HTTP)"
db="$(fresh_db bench_report)"
start_collector DATABASE_URL="$db"
url="$URL"
echo "postgres:"
node packages/collector/bench/report-time.mjs "$url" "$ADMIN" "$VISITS" | tee "$work/report.out"
psql "$db" -qc 'VACUUM ANALYZE' >/dev/null
echo "postgres after VACUUM ANALYZE (autovacuum does this in time; a bulk backfill should run it):"
again="$(head -n 1 "$work/report.out" | sed 's/.*"again":"\([^"]*\)".*/\1/')"
node packages/collector/bench/report-time.mjs "$url" "$ADMIN" "$VISITS" 20 "$again"
stop_collectors
start_collector LINKTRAIL_DB="$work/report.db"
url="$URL"
echo "sqlite:"
node packages/collector/bench/report-time.mjs "$url" "$ADMIN" "$VISITS"
