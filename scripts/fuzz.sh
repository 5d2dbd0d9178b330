#!/usr/bin/env bash
# Runs every fuzz target (or those named) for FUZZ_SECONDS each (default 600), one after another on one core.
#
# cargo-fuzz drives libFuzzer, whose coverage flags are stable rustc options; cargo-fuzz also asks for nightly-only
# ones, so the pinned toolchain runs with RUSTC_BOOTSTRAP=1 (no other toolchain is fetched). The sanitizer is off
# (`-s none`): the code under test is safe Rust, and AddressSanitizer would halve the executions per second.
# Seeds are in fuzz/seeds/<target> (committed; the API Gateway target reads events/); what libFuzzer learns goes to fuzz/corpus/<target>; a crash is written
# to fuzz/artifacts/<target>/ and fails the run. Executions per target are printed at the end.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds="${FUZZ_SECONDS:-600}"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(token_verify signed_claims body_and_detector password_policy apigw_event)

command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz@0.13.2
toolchain="$(sed -n 's/^channel *= *"\(.*\)"/\1/p' ../rust-toolchain.toml)"
RUSTC_BOOTSTRAP=1 cargo "+$toolchain" fuzz build -s none

summary=()
status=0
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "artifacts/$t"
    log="artifacts/$t/run.log"
    echo "fuzz: $t for ${seconds}s"
    # The API Gateway target's seeds are the event fixtures themselves (files that are not JSON are skipped).
    seeds="seeds/$t"
    [ "$t" = apigw_event ] && seeds=../events
    if ./target/x86_64-unknown-linux-gnu/release/"$t" "corpus/$t" "$seeds" -max_total_time="$seconds" -timeout=10 \
        -rss_limit_mb=2048 -artifact_prefix="artifacts/$t/" -print_final_stats=1 >"$log" 2>&1; then
        result=ok
    else
        result=CRASH
        status=1
        grep -E "panicked|ERROR|Test unit written" "$log" | head -n 5 >&2
    fi
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    summary+=("$(printf '%-18s %-5s %12s executions in %ss' "$t" "$result" "${runs:-?}" "$seconds")")
done
printf '%s\n' "${summary[@]}"
exit "$status"
