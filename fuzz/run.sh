#!/usr/bin/env bash
# Fuzzes Tally's GraphQL request path (body decoding, nesting and policy checks, parser, limits,
# validation; no database) for a bounded time, then prints one summary line.
#
#   fuzz/run.sh                      # 300 s
#   FUZZ_SECONDS=600 fuzz/run.sh     # 10 minutes
#
# Takes FUZZ_SECONDS plus the build: the first build (every dependency, instrumented, with
# AddressSanitizer) takes 15-20 minutes on 2 cores; later ones a minute or two. Needs only the
# stable toolchain: RUSTC_BOOTSTRAP=1 lets cargo-fuzz use the nightly flags it needs.
#
# Settings (environment):
#   FUZZ_SECONDS    fuzzing time in seconds, not counting the build (default 300)
#   FUZZ_SANITIZER  address (default) or none. `none` runs about twice as fast, but a stack
#                   overflow then kills the process without a reproducer: nothing but
#                   AddressSanitizer runs libFuzzer's crash handler on an alternate stack.
#   FUZZ_MAX_LEN    largest input in bytes (default 8192; the request that once aborted the
#                   server was about 4 KB)
#
# The working corpus grows in fuzz/corpus/request (git-ignored) and starts from the committed
# seeds in fuzz/seeds/request; crash, timeout and out-of-memory inputs go to
# fuzz/artifacts/request. Exits non-zero if the fuzzer failed or wrote any artifact.
set -euo pipefail

cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-300}"
sanitizer="${FUZZ_SANITIZER:-address}"
max_len="${FUZZ_MAX_LEN:-8192}"
corpus=fuzz/corpus/request
artifacts=fuzz/artifacts/request
log="$artifacts/last-run.log"

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
export RUSTC_BOOTSTRAP=1
# The bundled SQLite (libsqlite3-sys, through SeaORM) trips ASan's one-definition-rule check at
# start-up ("odr-violation: global 'aiOff'"), a report about its C globals, not about Tally.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_odr_violation=0"

mkdir -p "$corpus" "$artifacts"
echo "building the request target (sanitizer: $sanitizer)..."
cargo fuzz build --sanitizer "$sanitizer" request

# Artifacts already there come from earlier runs; only new ones count as this run's findings.
before="$(mktemp)"
trap 'rm -f "$before"' EXIT
ls "$artifacts" >"$before"

echo "fuzzing for ${seconds}s; log: $log"
status=0
cargo fuzz run --sanitizer "$sanitizer" request "$corpus" fuzz/seeds/request -- \
    -max_total_time="$seconds" \
    -max_len="$max_len" \
    -dict=fuzz/graphql.dict \
    -timeout=10 \
    -rss_limit_mb=2048 \
    -print_final_stats=1 \
    >"$log" 2>&1 || status=$?

new_artifacts="$(ls "$artifacts" | grep -E '^(crash|timeout|oom|leak|slow-unit)-' | grep -vxFf "$before" || true)"
crashes=0
if [[ -n "$new_artifacts" ]]; then
    crashes="$(wc -l <<<"$new_artifacts")"
fi
runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
per_second="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)"
coverage="$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -n 1 || true)"
corpus_files="$(find "$corpus" -type f | wc -l)"

echo "fuzz summary: ${seconds}s, runs: ${runs:-?}, exec/s: ${per_second:-?}, ${coverage:-cov: ?}, corpus: ${corpus_files} files, new artifacts (crashes/timeouts/OOMs): ${crashes}"
if [[ "$crashes" != 0 ]]; then
    echo "reproduce with: RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer $sanitizer request $artifacts/<file>"
    echo "$new_artifacts" | sed "s|^|  $artifacts/|"
    grep -E 'panicked at|ERROR: (AddressSanitizer|libFuzzer)|SUMMARY' "$log" | head -n 5 || true
    exit 1
fi
if [[ "$status" != 0 ]]; then
    echo "the fuzzer exited with status $status; see $log" >&2
    tail -n 20 "$log" >&2
    exit "$status"
fi
