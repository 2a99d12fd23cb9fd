#!/usr/bin/env bash
# Memory of `juknis serve` under N parallel log-ins (default 200) with an unknown name, against
# its idle RSS: the peak RSS (VmHWM) after the burst, the statuses answered, and the wall time.
# Usage: scripts/bench-login.sh [JUKNIS_BINARY] [N]
# Loopback only; a fresh state dir under /tmp; the daemon is stopped at the end.
set -euo pipefail
bin=${1:-target/release/juknis}
n=${2:-200}
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d /tmp/juknis-bench-login.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'kata-sandi-uji-123\n' | "$bin" user add --state-dir "$dir" --username admin --role admin >/dev/null
"$bin" serve --config "$root/topology/demo.yaml" --state-dir "$dir" --listen "127.0.0.1:$port" 2>"$dir/serve.log" &
pid=$!
trap 'kill -INT $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
sleep 2
idle=$(awk '/VmRSS/{print $2}' /proc/$pid/status)
# Each client: the form (its token and cookie), then a post with an unknown name.
one() {
  local jar="$dir/jar.$1" page token
  page=$(curl -s -c "$jar" "http://127.0.0.1:$port/masuk")
  token=$(sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' <<<"$page" | head -1)
  curl -s -o /dev/null -w '%{http_code}\n' -b "$jar" \
    --data-urlencode "username=tidak.ada.$1" --data-urlencode "password=salah-salah-salah" \
    --data-urlencode "csrf=$token" "http://127.0.0.1:$port/masuk"
}
export -f one; export dir port
start=$(date +%s.%N)
seq "$n" | xargs -P "$n" -I{} bash -c 'one {}' >"$dir/codes"
end=$(date +%s.%N)
peak=$(awk '/VmHWM/{print $2}' /proc/$pid/status)
after=$(awk '/VmRSS/{print $2}' /proc/$pid/status)
codes=$(sort "$dir/codes" | uniq -c | awk '{printf "%s×%s ", $1, $2}')
printf '| %s | %d | %d MiB | %d MiB | +%d MiB | %d MiB | %s| %.1f s |\n' \
  "$(basename "$(dirname "$(dirname "$bin")")")/$(basename "$bin")" "$n" \
  $((idle / 1024)) $((peak / 1024)) $(((peak - idle) / 1024)) $((after / 1024)) "$codes" \
  "$(echo "$end - $start" | bc)"
