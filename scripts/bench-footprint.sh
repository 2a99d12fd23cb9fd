#!/usr/bin/env bash
# Footprint of probing 1,000 loopback targets every second: `juknis serve` against
# prometheus-blackbox-exporter driven by a Prometheus scraping the same 1,000 targets each
# second (the way the exporter is used). Reports CPU (share of one core) and peak RSS of the
# prober process only. Loopback only. Needs: a release build of juknis, prometheus,
# prometheus-blackbox-exporter (Debian packages). Usage: scripts/bench-footprint.sh [SECONDS]
set -euo pipefail
secs=${1:-60}
n=1000
cd "$(dirname "$0")/.."
bin=${JUKNIS_BIN:-target/release/juknis}
[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 1; }
for tool in prometheus prometheus-blackbox-exporter curl; do
  command -v "$tool" >/dev/null || { echo "$tool is missing: apt-get install prometheus prometheus-blackbox-exporter curl" >&2; exit 1; }
done
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

# 1,000 targets on 127.0.0.0/8: 127.1.x.y.
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
  for i in $(seq 0 $((n-1))); do echo "  - {id: t$i, zone: disdukcapil, kind: server, address: $(addr $i), probes: [ping1s]}"; done
} > "$work/topology/bench.yaml"

measure() { # pid seconds -> "cpu_percent rss_peak_mb"
  local pid=$1 s=$2 hz t0 t1 peak=0 rss
  hz=$(getconf CLK_TCK)
  t0=$(awk '{print $14+$15}' /proc/$pid/stat)
  for _ in $(seq 1 "$s"); do
    sleep 1
    rss=$(awk '/VmRSS/{print $2}' /proc/$pid/status)
    [ "$rss" -gt "$peak" ] && peak=$rss
  done
  t1=$(awk '{print $14+$15}' /proc/$pid/stat)
  echo "$(awk -v a="$t0" -v b="$t1" -v hz="$hz" -v s="$s" 'BEGIN{printf "%.1f", (b-a)/hz/s*100}') $(awk -v p="$peak" 'BEGIN{printf "%.1f", p/1024}')"
}

# juknis
"$bin" serve --config "$work/topology/bench.yaml" --state-dir "$work/state" --listen 127.0.0.1:19480 >"$work/juknis.log" 2>&1 &
jpid=$!
sleep 5   # warm-up: every target has started
kill -0 $jpid 2>/dev/null || { echo "juknis serve stopped:" >&2; tail -5 "$work/juknis.log" >&2; exit 1; }
read -r jcpu jrss < <(measure $jpid "$secs")
runs=$(curl -s 127.0.0.1:19480/metrics | awk '/^juknis_probe_runs_total/{s+=$2} END{print s}')
kill $jpid; wait $jpid 2>/dev/null || true

# blackbox exporter + Prometheus scraping 1,000 targets every second
cat > "$work/bb.yml" <<'B'
modules:
  icmp:
    prober: icmp
    timeout: 1s
    icmp:
      preferred_ip_protocol: ip4
B
{
  echo "global: {scrape_interval: 1s, scrape_timeout: 1s}"
  echo "scrape_configs:"
  echo "  - job_name: blackbox"
  echo "    metrics_path: /probe"
  echo "    params: {module: [icmp]}"
  echo "    static_configs:"
  echo "      - targets:"
  for i in $(seq 0 $((n-1))); do echo "        - $(addr $i)"; done
  echo "    relabel_configs:"
  echo "      - {source_labels: [__address__], target_label: __param_target}"
  echo "      - {source_labels: [__param_target], target_label: instance}"
  echo "      - {target_label: __address__, replacement: 127.0.0.1:19115}"
} > "$work/prom.yml"
prometheus-blackbox-exporter --config.file="$work/bb.yml" --web.listen-address=127.0.0.1:19115 2>/dev/null &
bpid=$!
prometheus --config.file="$work/prom.yml" --storage.tsdb.path="$work/tsdb" --web.listen-address=127.0.0.1:19490 2>/dev/null &
sleep 5
read -r bcpu brss < <(measure $bpid "$secs")
probes=$(curl -s '127.0.0.1:19490/api/v1/query?query=sum(count_over_time(probe_success%5B'"$secs"'s%5D))' | sed -n 's/.*"value":\[[^,]*,"\([0-9.]*\)".*/\1/p')
kill $bpid

echo "| prober | targets | interval | probes in ${secs}s | CPU (% of one core) | peak RSS (MB) |"
echo "|---|---|---|---|---|---|"
echo "| juknis serve | $n | 1 s | ${runs:-?} (total since start) | $jcpu | $jrss |"
echo "| prometheus-blackbox-exporter (scraped by Prometheus) | $n | 1 s | ${probes:-?} | $bcpu | $brss |"
