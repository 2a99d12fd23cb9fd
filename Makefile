# One entry point for people and CI. `make demo` and `make test` are the README's two commands.
.PHONY: demo test ci lint fmt deny deps-demo deps-test fuzz-smoke load soak

CARGO ?= cargo

demo: deps-demo
	$(CARGO) run --bin juknis -- demo   # the dev build (deps optimised) starts in minutes, not tens

# The test-beds use test equipment (the impairment relay, feature test-equipment) that the
# shipped package leaves out.
test: deps-test
	$(CARGO) build --examples --features test-equipment   # the test-bed runs examples/reflector in a namespace
	$(CARGO) test --all-targets --features test-equipment --no-fail-fast

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets --all-features -- -D warnings

ci: lint test

# The gate at twice its capacity for JUKNIS_LOAD_SECS (default 300) seconds, with its table.
load:
	$(CARGO) test --test gate_load -- --nocapture

# One hour of `juknis serve` probing 1,000 loopback targets (SOAK_SECS to change); CSV in soak/.
soak:
	$(CARGO) build --release --bin juknis
	scripts/soak.sh soak

fmt:
	$(CARGO) fmt

# Licences, bans, sources (deny.toml); advisories only when the RustSec DB is present locally.
deny:
	scripts/deny.sh

# Replays fuzz/corpus and fuzzes each target ~20 s (fuzz/README.md); installs cargo-fuzz if missing.
fuzz-smoke:
	scripts/fuzz-smoke.sh

deps-demo:
	scripts/install-deps.sh demo

deps-test:
	scripts/install-deps.sh test

# Bandwidth on realistic links (bursts, policers, asymmetry, cross traffic) against iperf3: the
# BENCHMARKS.md table, about 10 minutes, root. BUDGET_MINUTES=10 for the probe-budget run.
.PHONY: bench-bandwidth bench-budget
bench-bandwidth:
	scripts/bench-bandwidth.sh

bench-budget:
	scripts/bench-bandwidth.sh budget

# Failover and failback across two routes (BENCHMARKS.md): each way of breaking the primary,
# RUNS=3 times, on the namespace test-bed of tests/testbed_routes.rs; about 3 minutes, root.
.PHONY: bench-routes
bench-routes:
	scripts/bench-routes.sh

# Log-in under attack (BENCHMARKS.md section 8): RSS under 200 parallel log-ins, and answer times
# of known and unknown names, against `juknis serve` on loopback.
.PHONY: bench-login
bench-login:
	$(CARGO) build --release --bin juknis
	scripts/bench-login.sh target/release/juknis 200
	scripts/bench-login-timing.sh target/release/juknis
