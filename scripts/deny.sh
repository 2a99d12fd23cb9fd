#!/usr/bin/env bash
# cargo-deny: licences, bans and sources of the dependency tree (deny.toml), plus advisories when
# a copy of the RustSec database is already on this machine. Installs cargo-deny when missing
# (`cargo install --locked`; it compiles from crates.io, about 18 minutes on two shared cores).
# Usage: scripts/deny.sh            (exit 0 when every check passes)
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO=${CARGO:-cargo}
if ! "$CARGO" deny --version >/dev/null 2>&1; then
  echo "cargo-deny is missing: installing it (cargo install --locked cargo-deny)"
  "$CARGO" install --locked cargo-deny
fi

"$CARGO" deny --version
"$CARGO" deny check licenses bans sources

# The advisory database is a Git repository on GitHub, which this machine and CI cannot reach,
# and no package registry ships it. Check advisories offline when a copy is present; say so
# plainly when not.
db="${CARGO_HOME:-$HOME/.cargo}/advisory-dbs"
if compgen -G "$db/advisory-db-*/crates" >/dev/null; then
  echo "advisories: checking against the local copy in $db (not refreshed)"
  "$CARGO" deny --offline check advisories
else
  echo "advisories: NOT CHECKED (no RustSec database in $db and GitHub is unreachable from here)"
fi
