#!/usr/bin/env bash
# Test-bed helper for people and CI.
#
#   scripts/testbed.sh list      list test-bed namespaces (jk-<pid>-<n>-{opd,kominfo,dukcapil})
#   scripts/testbed.sh clean     remove test-bed namespaces whose test process is gone
#
# The test-bed itself is Rust (tests/support/testbed.rs) and removes its own leftovers when it
# starts; this is for looking and tidying by hand. Its Debian packages: iproute2, iputils-ping, iperf3.
set -euo pipefail

case "${1:-}" in
list)
    ip netns list | awk '$1 ~ /^jk-/ {print $1}'
    ;;
clean)
    ip netns list | awk '$1 ~ /^jk-/ {print $1}' | while read -r ns; do
        pid=${ns#jk-}
        pid=${pid%%-*}
        if [[ -d /proc/$pid ]]; then
            echo "keeping $ns: process $pid is alive"
            continue
        fi
        for p in $(ip netns pids "$ns"); do kill -KILL "$p" 2>/dev/null || true; done
        ip netns del "$ns" && echo "removed $ns"
    done
    ;;
*)
    sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
    exit 64
    ;;
esac
