#!/usr/bin/env bash
# NIK gateway benchmark: latency (p50, p99) and throughput of one look-up
#   1. straight to the Dukcapil simulator,
#   2. through nginx (nginx-light) as a plain reverse proxy to the simulator,
#   3. through the juknis gate (POST /api/v1/lookup, audit log on, quota unlimited, rules off),
# all on loopback (127.0.0.1 only), load from wrk with a Lua script for the POST body.
# Prints a Markdown table; "added" columns are the difference to the direct run.
#
# Usage: scripts/bench-gate.sh            (DURATION=10s LAT_CONNS=4 CONNS=32 THREADS=2 to tune)
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
LAT_CONNS=${LAT_CONNS:-4}
CONNS=${CONNS:-32}
THREADS=${THREADS:-2}

for tool in wrk nginx python3 curl; do
    command -v "$tool" >/dev/null || { echo "bench-gate: $tool is needed" >&2; exit 69; }
done

cargo build --release --bin juknis --example gate_server >&2

work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

target/release/examples/gate_server --state-dir "$work/state" >"$work/info.json" 2>"$work/gate.log" &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/info.json" ] && break; sleep 0.1; done
[ -s "$work/info.json" ] || { echo "gate_server did not start:" >&2; cat "$work/gate.log" >&2; exit 70; }

field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$work/info.json" "$1"; }
GATE_URL=$(field gate_url)
GATE_BODY=$(field gate_body)
TOKEN=$(field token)
SIM_URL=$(field sim_url)
SIM_ADDR=$(field sim_addr)
SIM_PATH=$(field sim_path)
SIM_BODY=$(field sim_body)
STATE_DIR=$(field state_dir)
NGINX_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
NGINX_URL="http://127.0.0.1:${NGINX_PORT}${SIM_PATH}"

mkdir -p "$work/nginx"
cat >"$work/nginx/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $work/nginx/body;
    proxy_temp_path $work/nginx/proxy;
    upstream sim { server $SIM_ADDR; keepalive 128; }
    server {
        listen 127.0.0.1:$NGINX_PORT;
        location / {
            proxy_pass http://sim;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
        }
    }
}
CONF
nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" &
pids+=($!)
sleep 0.5

lua() { # body, extra header line
    cat <<LUA
wrk.method = "POST"
wrk.body = [[$1]]
wrk.headers["Content-Type"] = "application/json"
$2
LUA
}
lua "$SIM_BODY" "" >"$work/sim.lua"
lua "$GATE_BODY" "wrk.headers[\"Authorization\"] = \"Bearer $TOKEN\"" >"$work/gate.lua"

# Every target must answer a found record before it is timed.
check() {
    local out
    out=$(curl -sS -X POST -H 'Content-Type: application/json' "${@:3}" --data "$2" "$1")
    case "$out" in *'"found"'*|*'Data Ditemukan'*|*'NAMA_LGKP'*) ;; *) echo "bench-gate: $1 answered: $out" >&2; exit 70;; esac
}
check "$SIM_URL" "$SIM_BODY"
check "$NGINX_URL" "$SIM_BODY"
check "$GATE_URL" "$GATE_BODY" -H "Authorization: Bearer $TOKEN"

to_ms() { # wrk's "123.45us" / "1.20ms" / "1.00s" -> milliseconds
    python3 -c '
import re,sys
v=sys.argv[1]; m=re.match(r"([0-9.]+)(us|ms|s|m)$", v)
n=float(m.group(1)); u=m.group(2)
print("%.3f" % (n/1000 if u=="us" else n if u=="ms" else n*1000 if u=="s" else n*60000))' "$1"
}

run() { # name url lua conns -> "p50 p99 rps non2xx"
    local out p50 p99 rps bad
    out=$(wrk -t"$THREADS" -c"$4" -d"$DURATION" --latency -s "$3" "$2")
    echo "$out" >"$work/wrk-$1-$4.txt"
    p50=$(echo "$out" | awk '$1=="50%"{print $2}')
    p99=$(echo "$out" | awk '$1=="99%"{print $2}')
    rps=$(echo "$out" | awk '/Requests\/sec/{print $2}')
    bad=$(echo "$out" | awk '/Non-2xx/{print $5}')
    echo "$(to_ms "$p50") $(to_ms "$p99") $rps ${bad:-0}"
}

declare -A P50 P99 RPS BAD TPUT TBAD
for t in direct nginx gate; do
    case $t in
        direct) url=$SIM_URL;   script=$work/sim.lua ;;
        nginx)  url=$NGINX_URL; script=$work/sim.lua ;;
        gate)   url=$GATE_URL;  script=$work/gate.lua ;;
    esac
    read -r P50[$t] P99[$t] RPS[$t] BAD[$t] < <(run "$t" "$url" "$script" "$LAT_CONNS")
    read -r _ _ TPUT[$t] TBAD[$t] < <(run "$t" "$url" "$script" "$CONNS")
done

audited=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from audit").fetchone()[0])' "$STATE_DIR/audit.db")
intact=$(target/release/juknis audit verify --state-dir "$STATE_DIR" | head -1)

added() { python3 -c 'import sys; print("%+.3f" % (float(sys.argv[1])-float(sys.argv[2])))' "$1" "$2"; }

echo
echo "## NIK gateway"
echo
echo "$(nproc) cores, $(uname -r), wrk -t$THREADS -d$DURATION; latency at $LAT_CONNS connections, throughput at $CONNS."
echo "Simulator over plain HTTP on loopback; one found NIK; gate with the audit log on (SQLite WAL)."
echo
echo "| path | p50 ms | p99 ms | added p50 ms | added p99 ms | look-ups/s ($LAT_CONNS conn) | look-ups/s ($CONNS conn) | non-2xx |"
echo "|---|---|---|---|---|---|---|---|"
for t in direct nginx gate; do
    echo "| $t | ${P50[$t]} | ${P99[$t]} | $(added "${P50[$t]}" "${P50[direct]}") | $(added "${P99[$t]}" "${P99[direct]}") | ${RPS[$t]} | ${TPUT[$t]} | $(( ${BAD[$t]} + ${TBAD[$t]} )) |"
done
echo
echo "Audit entries written during the run: $audited ($intact)."
