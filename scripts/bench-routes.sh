#!/usr/bin/env bash
# Reproduces BENCHMARKS.md's "Failover and failback across two routes" table: the test-bed of
# tests/testbed_routes.rs (OPD, Diskominfo, VPN and Dukcapil namespaces, policy routing by
# source address, `juknis serve` and `juknis sim`), each way of breaking the primary RUNS times
# (default 3): time until a look-up is answered on the backup, time until traffic is back on
# the primary after the heal, look-ups refused meanwhile, and quota spent against look-ups
# answered. Prints Markdown on stdout.
#
# Needs root (network namespaces) and iproute2, curl. Sends traffic only inside the
# namespaces it creates, on documentation addresses.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $EUID -ne 0 ]]; then
    echo "bench-routes: needs root (network namespaces); try: sudo $0" >&2
    exit 1
fi
runs="${RUNS:-3}"
echo "<!-- $(date -u +%Y-%m-%dT%H:%MZ), $(uname -r), $(nproc) cores, juknis $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $runs runs -->"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for _ in $(seq "$runs"); do
    cargo test --features test-equipment --test testbed_routes -- --include-ignored --nocapture --test-threads=1 2>/dev/null \
        | grep '^ROUTES ' >>"$out"
done
echo "| way of breaking | runs | failover (median, max) | failback (median, max) | look-ups refused during the switch (max) | quota spent / look-ups answered |"
echo "|---|---|---|---|---|---|"
for case in LinkDown Blackhole TlsImpostor; do
    grep "^ROUTES $case " "$out" | awk -v c="$case" '
        { fo[NR]=$3; fb[NR]=$4; if ($5>rf) rf=$5; ans+=$6; q+=$7; n=NR }
        function med(a, n,   i, j, t) {
            for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
            return a[int((n + 1) / 2)]
        }
        function max(a, n,   i, m) { m = 0; for (i = 1; i <= n; i++) if (a[i] > m) m = a[i]; return m }
        END {
            if (n == 0) { print "| " c " | 0 | - | - | - | - |"; exit }
            name = (c == "LinkDown") ? "link OPD–Diskominfo down" : (c == "Blackhole") ? "100 % loss beyond Diskominfo (blackhole)" : "middlebox at Diskominfo with another TLS certificate"
            printf "| %s | %d | %.1f s, %.1f s | %.1f s, %.1f s | %d | %d / %d |\n", name, n, med(fo, n) / 1000, max(fo, n) / 1000, med(fb, n) / 1000, max(fb, n) / 1000, rf, q, ans
        }'
done
