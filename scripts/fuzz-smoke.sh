#!/usr/bin/env bash
# CI smoke for the cargo-fuzz targets in fuzz/: build them, then for each target replay the
# committed corpus (fuzz/corpus/<target>) and fuzz for FUZZ_SECONDS (default 20). Exits non-zero
# on any crash, panic, timeout or out-of-memory; the reproducing input is left in
# fuzz/artifacts/<target>/. New inputs go to a temporary folder: the committed corpus is not
# changed (see fuzz/README.md to grow it).
#
# Toolchain: nightly with AddressSanitizer when rustup has a nightly; otherwise the default
# (stable) toolchain with RUSTC_BOOTSTRAP=1 and no sanitizer, since libFuzzer's coverage
# instrumentation needs no nightly-only flag but cargo-fuzz asks for one. FUZZ_TOOLCHAIN=stable
# or =nightly forces the choice.
set -euo pipefail

cd "$(dirname "$0")/.."
seconds="${FUZZ_SECONDS:-20}"
targets=(topology_yaml nik portal_answer balikan_csv lookup_body)

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz-smoke: installing cargo-fuzz"
    cargo install --locked cargo-fuzz
fi

toolchain="${FUZZ_TOOLCHAIN:-}"
if [[ -z "$toolchain" ]] && rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    toolchain=nightly
fi
cargo=(cargo)
if [[ "$toolchain" == nightly ]]; then
    cargo=(cargo +nightly)
    sanitizer=address
else
    [[ -n "$toolchain" ]] && cargo=(cargo "+$toolchain")
    export RUSTC_BOOTSTRAP=1
    sanitizer=none
fi
# The instrumented build of ~350 crates is most of the smoke's time (tens of minutes cold on two
# cores). Keep it outside the checkout so later runs on the same machine reuse it; a fresh
# machine builds it once.
target_dir="${FUZZ_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/juknis/fuzz-target}"
mkdir -p "$target_dir"
flags=(--fuzz-dir fuzz --sanitizer "$sanitizer" --codegen-units 16 --target-dir "$target_dir")
echo "fuzz-smoke: $("${cargo[@]}" --version), sanitizer $sanitizer, ${seconds}s per target"

started=$SECONDS
"${cargo[@]}" fuzz build "${flags[@]}"
echo "fuzz-smoke: built in $((SECONDS - started))s"

logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT
failed=()
for t in "${targets[@]}"; do
    mkdir -p "$logs/$t" "fuzz/corpus/$t"
    t0=$SECONDS
    # The first folder receives new inputs; every folder is replayed first.
    if "${cargo[@]}" fuzz run "${flags[@]}" "$t" "$logs/$t" "fuzz/corpus/$t" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 >"$logs/$t.log" 2>&1; then
        # The last status line: executions, coverage, corpus.
        last="$(grep -E '^#[0-9]+' "$logs/$t.log" | tail -n 1 || true)"
        echo "fuzz-smoke: $t ok in $((SECONDS - t0))s: $last"
    else
        echo "fuzz-smoke: $t FAILED; the end of its log:"
        tail -n 60 "$logs/$t.log"
        failed+=("$t")
    fi
done
echo "fuzz-smoke: done in $((SECONDS - started))s"
if ((${#failed[@]})); then
    echo "fuzz-smoke: failed: ${failed[*]} (inputs in fuzz/artifacts/)"
    exit 1
fi
