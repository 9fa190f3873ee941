#!/usr/bin/env bash
# Runs the cargo-fuzz targets, each for a bounded time.
#
#   fuzz/run.sh [SECONDS] [TARGET...]
#
# SECONDS per target defaults to 600 (CI passes a few seconds); TARGET defaults to all.
# FUZZ_JOBS=N runs N targets at once. FUZZ_RUNS=N runs N inputs per target instead of a
# time, and FUZZ_SEED=N fixes libFuzzer's seed: CI sets both, so that its brief run is
# the same on every clone. Needs cargo-fuzz (installed here if missing); works
# on the stable toolchain through RUSTC_BOOTSTRAP. Each target fuzzes from its committed
# seeds (fuzz/seeds/<target>, never written to) into a working corpus fuzz/corpus/<target>.
# The targets that read through the whole engine, polars included (parquet, memory), are
# built with the fuzz crate's `audit` feature and in cargo's dev profile (unoptimised: a
# release build of polars with the sanitizer takes far longer than the runs it serves).
# Unoptimised, they run a few inputs a second: with FUZZ_RUNS set, they run
# FUZZ_AUDIT_RUNS inputs (300 unless set) instead.
# A crash is written to fuzz/artifacts/<target>/ and fails the script; copy it into
# fuzz/regressions/<target>/ once fixed, where the test suite replays it.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_TARGET=${1:-600}
shift || true
ALL=(normalize header condition csv xlsx xls ods render parquet memory)
AUDIT=(parquet memory)
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=("${ALL[@]}")
JOBS=${FUZZ_JOBS:-1}
RSS_MB=${FUZZ_RSS_MB:-2048}

export RUSTC_BOOTSTRAP=1
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked --version 0.13.2
fi
# The options a target is built and run with.
options() {
    local a
    for a in "${AUDIT[@]}"; do
        if [ "$a" = "$1" ]; then
            echo "--dev --features audit"
            return
        fi
    done
}

cargo fuzz build
for t in "${TARGETS[@]}"; do
    if [ -n "$(options "$t")" ]; then
        # shellcheck disable=SC2046
        cargo fuzz build $(options "$t") "$t"
    fi
done

run_one() {
    local t=$1
    local dict=()
    [ -f "fuzz/dict/$t.dict" ] && dict=("-dict=fuzz/dict/$t.dict")
    mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t" "fuzz/logs"
    local bound=("-max_total_time=$SECONDS_PER_TARGET")
    if [ -n "${FUZZ_RUNS:-}" ]; then
        if [ -n "$(options "$t")" ]; then
            bound=("-runs=${FUZZ_AUDIT_RUNS:-300}")
        else
            bound=("-runs=$FUZZ_RUNS")
        fi
    fi
    [ -n "${FUZZ_SEED:-}" ] && bound+=("-seed=$FUZZ_SEED")
    local start=$SECONDS
    # shellcheck disable=SC2046
    if cargo fuzz run $(options "$t") "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" -- \
        "${bound[@]}" -rss_limit_mb="$RSS_MB" -timeout=20 \
        -print_final_stats=1 "${dict[@]}" >"fuzz/logs/$t.log" 2>&1; then
        echo "fuzz $t: ok, $(grep -E 'stat::number_of_executed_units' "fuzz/logs/$t.log" | awk '{print $2}') inputs in $((SECONDS - start)) s, no crash"
    else
        echo "fuzz $t: FAILED, see fuzz/logs/$t.log and fuzz/artifacts/$t/"
        tail -n 30 "fuzz/logs/$t.log"
        return 1
    fi
}

status=0
running=0
pids=()
for t in "${TARGETS[@]}"; do
    run_one "$t" &
    pids+=($!)
    running=$((running + 1))
    if [ "$running" -ge "$JOBS" ]; then
        wait "${pids[0]}" || status=1
        pids=("${pids[@]:1}")
        running=$((running - 1))
    fi
done
for p in "${pids[@]}"; do
    wait "$p" || status=1
done
exit $status
