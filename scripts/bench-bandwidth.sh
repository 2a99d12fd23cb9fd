#!/usr/bin/env bash
# Reproduces BENCHMARKS.md's "Bandwidth on realistic links" table: every cell of the matrix in
# tests/testbed_bandwidth.rs (tbf bursts 1.5-64 KB, policers, asymmetric rates, UDP cross traffic
# at 30-70 %), juknis' packet trains and stop-when-stable download against the shaped truth, with
# iperf3 -R 10 s in the same cell. `budget` instead runs the probe-budget soak (BUDGET_SECS,
# default 600). Prints Markdown on stdout.
#
# Needs root (network namespaces, tc, TUN) and the Debian packages iproute2, iperf3.
# Sends traffic only inside the namespaces it creates, on documentation addresses.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $EUID -ne 0 ]]; then
    echo "bench-bandwidth: needs root (network namespaces); try: sudo $0" >&2
    exit 1
fi
for tool in ip tc iperf3 ss; do
    command -v "$tool" >/dev/null || {
        echo "bench-bandwidth: $tool is missing (apt-get install iproute2 iperf3)" >&2
        exit 1
    }
done
which="${1:-matrix}"
echo "<!-- $(date -u +%Y-%m-%dT%H:%MZ), $(uname -r), $(nproc) cores, juknis $(git rev-parse --short HEAD 2>/dev/null || echo '?') -->"
cargo build --features test-equipment --example reflector --bins >&2
case "$which" in
    matrix)
        cargo test --features test-equipment --test testbed_bandwidth matrix -- --ignored --nocapture --test-threads=1 2>/dev/null \
            | sed -n '/^BANDWIDTH MATRIX/,/^test result/p' | grep -v '^BANDWIDTH MATRIX\|^test result\|^ok$\|^test '
        ;;
    budget)
        cargo test --features test-equipment --test testbed_budget soak -- --ignored --nocapture --test-threads=1 2>/dev/null \
            | sed -n '/^BUDGET/,/^test result/p' | grep -v '^BUDGET\|^test result\|^ok$\|^test '
        ;;
    *)
        echo "bench-bandwidth: matrix or budget, not $which" >&2
        exit 2
        ;;
esac
