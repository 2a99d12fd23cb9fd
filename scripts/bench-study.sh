#!/usr/bin/env bash
# Benchmark for BENCHMARKS.md section 4: `juknis study` over 180 days of 10-second samples for
# 10 targets (15.5 M raw rows), from the appliance's store and, side by side, from a Prometheus
# loaded with the same history.
#
#   scripts/bench-study.sh             # dev build
#   scripts/bench-study.sh --release   # release build (about 20 minutes to build on 2 cores)
#
# Steps: (1) write the raw samples into a store as the appliance does (insert each hour, roll
# up to minutes and hours, prune to the retention: raw 7 days, minutes 90 days, hours 2 years),
# timed; (2) `juknis study` end to end to HTML and PDF over 180 and 90 days; (3) the same
# history as OpenMetrics, imported with promtool, served by Prometheus on 127.0.0.1, and the
# same studies with --prometheus. Needs the Debian packages prometheus and poppler-utils.
# WORK=DIR keeps the files (default: a temporary folder, removed at the end).
set -euo pipefail
cd "$(dirname "$0")/.."

profile=debug
cargo_flags=()
if [[ "${1:-}" == "--release" ]]; then
  profile=release
  cargo_flags=(--release)
fi
cargo build "${cargo_flags[@]}" --bin juknis --example study_history >&2
bin="target/$profile/juknis"
gen="target/$profile/examples/study_history"

keep=${WORK:+1}
work=${WORK:-$(mktemp -d)}
mkdir -p "$work"
prom_pid=
cleanup() {
  [[ -n "$prom_pid" ]] && kill "$prom_pid" 2>/dev/null && wait "$prom_pid" 2>/dev/null
  [[ -z "$keep" ]] && rm -rf "$work"
  return 0
}
trap cleanup EXIT

last=2026-03-31
from180=$(date -d "$last - 179 days" +%F)
from90=$(date -d "$last - 89 days" +%F)

mkdir -p "$work/topology" "$work/probes"
cp topology/demo.yaml "$work/topology/demo.yaml"
cp probes/*.yaml "$work/probes/"
config="$work/topology/demo.yaml"

# Wall-clock seconds and peak RSS of a command, as "seconds<TAB>MiB".
measure() {
  local out
  out=$( { /usr/bin/time -f '%e %M' "$@" >/dev/null 2>"$work/cmd.err"; } 2>&1 ) || {
    cat "$work/cmd.err" >&2
    return 1
  }
  tail -n1 "$work/cmd.err" | awk '{printf "%s\t%.0f", $1, $2/1024}'
}

echo "== 1. store: 180 days x 10 targets every 10 s ($profile build)" >&2
if [[ ! -f "$work/state/juknis.db" ]]; then
  "$gen" store "$work/state" --days 180 --targets 10 --interval 10 --last-day "$last" | tee "$work/store.tsv" >&2
fi

study() {  # name, from, output, source args...
  local name=$1 from=$2 out=$3
  shift 3
  local m
  m=$(measure "$bin" study --config "$config" --from "$from" --to "$last" -o "$work/$out" "$@")
  printf '%s\t%s\n' "$name" "$m"
}

echo "== 2. juknis study from the store" >&2
{
  study "store 180 d -> html" "$from180" s180.html --state-dir "$work/state"
  study "store 180 d -> pdf" "$from180" s180.pdf --state-dir "$work/state"
  study "store 90 d -> html" "$from90" s90.html --state-dir "$work/state"
  study "store 90 d -> pdf" "$from90" s90.pdf --state-dir "$work/state"
} | tee "$work/study-store.tsv" >&2

echo "== 3. the same history in Prometheus" >&2
if [[ ! -d "$work/prom/data" ]]; then
  t0=$(date +%s.%N)
  mkdir -p "$work/prom"
  "$gen" openmetrics "$work/om" --days 180 --interval 10 --last-day "$last" >&2
  t1=$(date +%s.%N)
  # One file per 2-hour block: promtool 2.42 parses its whole input once per block.
  for f in "$work"/om/*.om; do
    promtool tsdb create-blocks-from openmetrics "$f" "$work/prom/data" >/dev/null
  done
  t2=$(date +%s.%N)
  printf 'openmetrics_s\t%.1f\npromtool_import_s\t%.1f\nopenmetrics_bytes\t%s\n' \
    "$(awk "BEGIN{print $t1 - $t0}")" "$(awk "BEGIN{print $t2 - $t1}")" "$(du -sb "$work/om" | cut -f1)" | tee "$work/prom-load.tsv" >&2
  rm -rf "$work/om"
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'global:\n  scrape_interval: 10s\n' > "$work/prom/prometheus.yml"
prometheus --config.file="$work/prom/prometheus.yml" --storage.tsdb.path="$work/prom/data" \
  --storage.tsdb.retention.time=100y --web.listen-address="127.0.0.1:$port" \
  2>"$work/prom/prometheus.log" &
prom_pid=$!
for _ in $(seq 1 120); do
  curl -sf "http://127.0.0.1:$port/-/ready" >/dev/null && break
  sleep 0.5
done
url="http://127.0.0.1:$port"
{
  study "prometheus 180 d -> html" "$from180" p180.html --prometheus "$url"
  study "prometheus 180 d -> pdf" "$from180" p180.pdf --prometheus "$url"
  study "prometheus 90 d -> html" "$from90" p90.html --prometheus "$url"
  study "prometheus 90 d -> pdf" "$from90" p90.pdf --prometheus "$url"
} | tee "$work/study-prom.tsv" >&2
du -sb "$work/state" "$work/prom/data" | awk '{printf "disk_bytes\t%s\t%s\n", $2, $1}' >&2

echo "== recommendations" >&2
for f in s180 p180 s90 p90; do
  printf '%s\t%s\n' "$f" "$(grep -o 'Direkomendasikan[^.<]*' "$work/$f.html" | head -n1)"
done
echo "files in $work" >&2
