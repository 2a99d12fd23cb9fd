#!/usr/bin/env bash
# Install the Debian packages juknis needs to run its demo and its tests.
# Idempotent and quick when everything is already there. Usage: scripts/install-deps.sh [demo|test]
set -euo pipefail

what=${1:-test}

# Needed to run: graphviz renders Lampiran I and II; fonts for the diagrams.
packages=(graphviz fonts-dejavu-core ca-certificates)
if [ "$what" = test ]; then
  # Needed by the tests: the network test-bed (namespaces, shaping, reference tools),
  # PDF checks, and the reference tools the benchmarks compare against.
  # snmpd: the SNMP interface probe is tested against a real net-snmp agent (tests/probe_snmp.rs).
  # `time` (GNU /usr/bin/time) measures peak memory in scripts/bench-study.sh.
  packages+=(iproute2 iputils-ping iperf3 poppler-utils prometheus systemd chromium chromium-driver snmpd time)
  # unzip: tests/study.rs opens the .docx study (a zip) with it.
  packages+=(unzip)
  # python3-aiosmtpd: the e-mail notifier is tested against a real SMTP server (tests/notify.rs).
  packages+=(python3-aiosmtpd)
  # curl: tests/testbed_routes.rs calls the API from inside the OPD namespace.
  packages+=(curl)
fi

# cargo-deb: tests/deploy_deb.rs packages the binary of the test run and checks the package.
if [ "$what" = test ] && ! cargo deb --version >/dev/null 2>&1; then
  echo "cargo-deb is missing: installing it (cargo install --locked cargo-deb@3.8.0)"
  cargo install --locked cargo-deb@3.8.0
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then sudo=sudo; else
    echo "need root to install: ${missing[*]}" >&2; exit 1
  fi
fi
echo "installing: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
