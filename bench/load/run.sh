#!/usr/bin/env bash
# The load benchmark, in one command: `bash bench/load/run.sh` (SQLite) or
# `bash bench/load/run.sh postgres`. See bench/load/README.md.
# ROWS picks the rows (KIND:BOOK[:CONNECTIONS], space separated; 16 connections unless said),
# e.g. ROWS="create:hot mix:hot balances:hot:1".
#
# Builds the release binary (or uses $TALLY_BIN), starts it on a fresh database with the rate
# limits off, seeds it through the API (seed.py: ENTRIES entries in the hot book, default
# 100000), then runs wrk (16 connections, or 1 for the one-client rows) for DURATION seconds
# (default 15) per row, and prints a markdown table: throughput, p50/p99, errors (HTTP and
# GraphQL), server and wrk CPU seconds, and the server's RSS after seeding and at its peak.
set -euo pipefail
cd "$(dirname "$0")/../.."

DATABASE="${1:-sqlite}"
ENTRIES="${ENTRIES:-100000}"
DURATION="${DURATION:-15}"
PG_URL="${TALLY_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432}"
# The database is on this machine: TLS over loopback protects nothing and costs a tenth of a
# read (measured). docker-compose's PostgreSQL speaks plain TCP on its private network too.
PG_SSLMODE="${TALLY_BENCH_SSLMODE:-disable}"
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }

if [ -z "${TALLY_BIN:-}" ]; then
  cargo build --release --quiet
  TALLY_BIN="${CARGO_TARGET_DIR:-target}/release/tally"
fi
WORK="$(mktemp -d)"
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export TALLY_LISTEN="127.0.0.1:$PORT" TALLY_DATA_DIR="$WORK/data" RUST_LOG=warn \
  TALLY_REGISTRATIONS_PER_HOUR=100000 TALLY_RATE_LIMIT_PER_ADDRESS=0 \
  TALLY_RATE_LIMIT_PER_USER=0 TALLY_SOCKETS_PER_ADDRESS=0
unset DATABASE_URL
if [ "$DATABASE" = postgres ]; then
  python3 - "$PG_URL" <<'PY'
import subprocess, sys
for sql in ("DROP DATABASE IF EXISTS tally_bench_load", "CREATE DATABASE tally_bench_load"):
    subprocess.run(["psql", sys.argv[1] + "/postgres", "-qc", sql], check=True)
PY
  export DATABASE_URL="$PG_URL/tally_bench_load?sslmode=$PG_SSLMODE"
fi

"$TALLY_BIN" >"$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER ${ANALYZER:-} 2>/dev/null; wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done

URL="http://127.0.0.1:$PORT/graphql"
if [ "$DATABASE" = postgres ]; then
  # Autovacuum analyses growing tables as they grow; where it is off (this machine's
  # PostgreSQL has `autovacuum = off`), the planner keeps the statistics of empty tables while
  # 100,000 entries go in, and inserts slow down with every one (the foreign-key checks scan):
  # analyse every 15 s during the seeding instead.
  (while sleep 15; do psql "$DATABASE_URL" -qc ANALYZE; done) &
  ANALYZER=$!
fi
python3 bench/load/seed.py "$URL" "$WORK/data.lua" --entries "$ENTRIES"
if [ "$DATABASE" = postgres ]; then
  kill "$ANALYZER"
  # Right after a bulk load the planner's statistics still describe an empty table (autovacuum
  # analyses on its own schedule) and it picks sorts over the ordered indexes: measure the
  # steady state a running service has.
  psql "$DATABASE_URL" -qc ANALYZE
fi
rss() { awk -v key="$1:" '$1 == key { printf "%.0f", $2 / 1024 }' "/proc/$SERVER/status"; }
AFTER_SEED="$(rss VmRSS) MiB (peak so far $(rss VmHWM) MiB)"
cpu() { awk '{ print $14 + $15 }' "/proc/$SERVER/stat"; }
ticks="$(getconf CLK_TCK)"

echo
echo "$DATABASE, $ENTRIES entries in the hot book, ${DURATION} s a row (wrk -t1)"
echo
echo "| request | book | connections | req/s | p50 ms | p99 ms | errors (HTTP / GraphQL / socket) | server CPU s | wrk CPU s | RSS after, MiB |"
echo "|---|---|---|---|---|---|---|---|---|---|"
ROWS="${ROWS:-typename:hot roster:hot roster:hot:1 balances:small balances:hot balances:hot:1 read:small
  read:hot count:small count:hot create:small create:hot mix:hot}"
for row in $ROWS; do
  IFS=: read -r kind book connections <<<"$row"
  connections="${connections:-16}"
  before="$(cpu)"
  out="$(DATA="$WORK/data.lua" KIND="$kind" BOOK="$book" /usr/bin/time -f "WRKCPU %U %S" \
    wrk -t1 -c"$connections" -d"${DURATION}s" -s bench/load/load.lua "$URL" 2>&1)"
  after="$(cpu)"
  echo "$out" | grep -q '^RESULT' || { echo "$out" >&2; exit 1; }
  echo "$out" | grep '^first error' >&2 || true
  echo "$out" | awk -v kind="$kind" -v book="$book" -v connections="$connections" \
    -v server="$(( after - before ))" -v hz="$ticks" -v rss="$(rss VmRSS)" '
    /^RESULT/ { for (i = 2; i <= NF; i++) { split($i, kv, "="); r[kv[1]] = kv[2] } }
    /^WRKCPU/ { wrk = $2 + $3 }
    END { printf "| %s | %s | %d | %.0f | %.2f | %.2f | %d / %d / %d | %.1f | %.1f | %s |\n", kind,
          book, connections, r["rps"], r["p50_ms"], r["p99_ms"], r["http_errors"],
          r["graphql_errors"], r["socket_errors"], server / hz, wrk, rss }'
done
echo
echo "server RSS: $AFTER_SEED after seeding, $(rss VmHWM) MiB at its peak"
