#!/usr/bin/env bash
# Time of a first wrong log-in for an existing name and for unknown names (median of 4 each),
# against `juknis serve` on loopback. Usage: scripts/bench-login-timing.sh [JUKNIS_BINARY]
set -euo pipefail
bin=${1:-target/release/juknis}
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d /tmp/juknis-bench-timing.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
for u in op1 op2 op3 op4; do
  printf 'kata-sandi-uji-123\n' | "$bin" user add --state-dir "$dir" --username $u --role operator >/dev/null
done
"$bin" serve --config "$root/topology/demo.yaml" --state-dir "$dir" --listen "127.0.0.1:$port" 2>"$dir/serve.log" &
pid=$!
trap 'kill -INT $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
try() {
  local jar="$dir/jar" page token
  page=$(curl -s -c "$jar" "http://127.0.0.1:$port/masuk")
  token=$(sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' <<<"$page" | head -1)
  curl -s -o /dev/null -w '%{http_code} %{time_total}\n' -b "$jar" \
    --data-urlencode "username=$1" --data-urlencode "password=salah-salah-salah" \
    --data-urlencode "csrf=$token" "http://127.0.0.1:$port/masuk"
}
median() { sort -n | awk '{a[NR]=$1} END {print (a[int((NR+1)/2)] + a[int(NR/2)+1]) / 2}'; }
known=$(for u in op1 op2 op3 op4; do try $u; done | awk '{print $2}' | median)
unknown=$(for u in nobody1 nobody2 nobody3 nobody4; do try $u; done | awk '{print $2}' | median)
printf '| %s | %.3f s | %.3f s |\n' "$bin" "$known" "$unknown"
