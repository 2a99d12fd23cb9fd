#!/usr/bin/env bash
# Soak: a release `juknis serve` probing 1,000 loopback targets (ICMP, every second; the
# topology of scripts/bench-footprint.sh) for SOAK_SECS seconds (default 3600). Every
# SOAK_STEP seconds (default 30) it samples the process's RSS, CPU (share of one core over the
# step), threads, open files, the store's size and the probe runs counted in /metrics (a scrape,
# as Prometheus would do) into a CSV; at the end it prints min/max RSS, the RSS slope (least
# squares, MB per hour, after the first 5 minutes of warm-up) and a table at 5-minute steps.
# Loopback only; needs root (raw ICMP sockets) and a release build.
#
# Usage: SOAK_SECS=3600 scripts/soak.sh [OUT_DIR]     (OUT_DIR default: soak/)
# Output: OUT_DIR/soak.csv, OUT_DIR/summary.md, OUT_DIR/serve.log
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${SOAK_SECS:-3600}
step=${SOAK_STEP:-30}
n=${SOAK_TARGETS:-1000}
out=${1:-soak}
bin=${JUKNIS_BIN:-target/release/juknis}
port=${SOAK_PORT:-19580}
[ -x "$bin" ] || { echo "soak: build first: cargo build --release --bin juknis" >&2; exit 69; }
command -v curl >/dev/null || { echo "soak: curl is needed" >&2; exit 69; }
mkdir -p "$out"
work=$(mktemp -d)
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

# 1,000 targets on 127.0.0.0/8: 127.1.x.y (the same as scripts/bench-footprint.sh).
addr() { echo "127.1.$(( $1 / 250 )).$(( $1 % 250 + 1 ))"; }
mkdir -p "$work/topology" "$work/probes"
cat > "$work/probes/ping1s.yaml" <<'P'
kind: icmp
interval: 1s
count: 1
spacing: 1s
timeout: 1s
size: 56
P
{
    echo "zones: [{id: opd, kind: opd}, {id: disdukcapil, kind: disdukcapil}]"
    echo "nodes:"
    for i in $(seq 0 $((n-1))); do echo "  - {id: t$i, zone: disdukcapil, kind: server, address: $(addr "$i"), probes: [ping1s]}"; done
} > "$work/topology/soak.yaml"

"$bin" serve --config "$work/topology/soak.yaml" --state-dir "$work/state" \
    --listen "127.0.0.1:$port" > "$out/serve.log" 2>&1 &
pid=$!
for _ in $(seq 100); do curl -sf "127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
curl -sf "127.0.0.1:$port/healthz" >/dev/null || { echo "soak: serve did not start:" >&2; cat "$out/serve.log" >&2; exit 70; }

hz=$(getconf CLK_TCK)
ticks() { awk '{print $14+$15}' "/proc/$pid/stat"; }
csv="$out/soak.csv"
echo "t_s,rss_kb,cpu_pct,threads,fds,store_kb,probe_runs_total" > "$csv"
t0=$(date +%s)
c_prev=$(ticks)
t_prev=$t0
while :; do
    sleep "$step"
    now=$(date +%s)
    [ -d "/proc/$pid" ] || { echo "soak: juknis serve died after $((now - t0)) s" >&2; tail -20 "$out/serve.log" >&2; exit 1; }
    c=$(ticks)
    rss=$(awk '/^VmRSS/{print $2}' "/proc/$pid/status")
    thr=$(awk '/^Threads/{print $2}' "/proc/$pid/status")
    fds=$(ls "/proc/$pid/fd" | wc -l)
    store=$(du -sk "$work/state" | awk '{print $1}')
    runs=$(curl -s --max-time 10 "127.0.0.1:$port/metrics" | awk '/^juknis_probe_runs_total/{s+=$2} END{printf "%d", s}')
    cpu=$(awk -v a="$c_prev" -v b="$c" -v hz="$hz" -v s="$((now - t_prev))" 'BEGIN{printf "%.1f", (b-a)/hz/s*100}')
    echo "$((now - t0)),$rss,$cpu,$thr,$fds,$store,${runs:-0}" >> "$csv"
    c_prev=$c
    t_prev=$now
    [ $((now - t0)) -ge "$secs" ] && break
done
curl -sf "127.0.0.1:$port/healthz" >/dev/null || { echo "soak: /healthz failed at the end" >&2; exit 1; }

{
    echo "juknis serve, $n ICMP targets every 1 s, ${secs} s, sampled every ${step} s; $(nproc) cores, $(uname -r)."
    echo
    echo "| minute | RSS MB | CPU % of one core | threads | open files | store MB | probe runs |"
    echo "|---|---|---|---|---|---|---|"
    awk -F, 'NR>1 && ($1 % 300 < '"$step"' || NR==2) {printf "| %d | %.1f | %s | %s | %s | %.1f | %s |\n", $1/60, $2/1024, $3, $4, $5, $6/1024, $7}' "$csv"
    echo
    awk -F, 'NR>1 {
        if (min=="" || $2<min) min=$2; if ($2>max) max=$2; cpu+=$3; k++
        if ($1 >= 300) { n++; sx+=$1; sy+=$2; sxx+=$1*$1; sxy+=$1*$2 }
    } END {
        slope = (n>1) ? (n*sxy - sx*sy) / (n*sxx - sx*sx) : 0
        printf "RSS min %.1f MB, max %.1f MB; slope after minute 5: %+.2f MB/hour (least squares over %d samples); mean CPU %.1f%% of one core.\n", min/1024, max/1024, slope*3600/1024, n, cpu/k
    }' "$csv"
} | tee "$out/summary.md"
