#!/usr/bin/env bash
# Reproduces BENCHMARKS.md's test-bed table: the test-bed's truth (shaped rate, delay, loss) against
# iputils ping and iperf3 at 512 kbit/s, 1 Mbit/s and 2 Mbit/s, with juknis' own probes (ICMP round,
# packet trains, throughput against examples/reflector.rs) beside them. Prints Markdown tables on stdout.
#
# Needs root (network namespaces, tc, TUN) and the Debian packages iproute2, iputils-ping, iperf3.
# Sends traffic only inside the namespaces it creates, on documentation addresses.
# Extra arguments go to cargo, e.g. `scripts/bench-testbed.sh --release`.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $EUID -ne 0 ]]; then
    echo "bench-testbed: needs root (network namespaces); try: sudo $0" >&2
    exit 1
fi
for tool in ip tc ping iperf3 ss; do
    command -v "$tool" >/dev/null || {
        echo "bench-testbed: $tool is missing (apt-get install iproute2 iputils-ping iperf3)" >&2
        exit 1
    }
done

echo "<!-- $(date -u +%Y-%m-%dT%H:%MZ), $(uname -r), $(nproc) cores, juknis $(git rev-parse --short HEAD 2>/dev/null || echo '?') -->"
# The throughput test's far end; `cargo test --test` alone does not build examples.
cargo build --features test-equipment "$@" --example reflector --bins >&2
cargo test --features test-equipment "$@" --test testbed_bench -- --ignored --nocapture --test-threads=1 2>/dev/null \
    | sed -e 's/^test [^ ]* \.\.\. //' \
    | sed -n '/^RTT and loss/,/^test result/p' | grep -v '^test result\|^ok$'
