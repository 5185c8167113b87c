# mta-harness: `make certify` runs the default certification, `make test` runs every test.
# Both run `make setup` first, which is idempotent: a second run does nothing.

PYTHON ?= python3
GO ?= go
VENV := .venv
BIN := $(VENV)/bin
TOXIPROXY_VERSION := 2.12.0
TOXIPROXY := .tools/bin/toxiproxy-server
SITE := .tools/bin/mta-harness-site
STAMP := $(VENV)/.installed
# Test workers for `make test`: three take about 15 min here, two about 22. The tests that
# count DNS packets leaving the machine share an xdist group with those that fetch packages;
# the groups hold only under the pytest that pyproject.toml's dev extra names
# (tests/unit/test_xdist_groups.py fails where they do not).
PYTEST_WORKERS ?= 3
# Certifications `make table` runs at once (each a world of its own; most of a real MTA's
# certification is waiting on its timers, so two share this 2-core machine well).
TABLE_JOBS ?= 2
# Certifications per build for bench/search_power.py (docs/performance.md).
SEARCH_POWER_RUNS ?= 10
# Verdict stability (docs/reliability.md): certifications per MTA, busy processes beside them,
# and the suites each runs (the property suite; empty = certify's own, about 3x longer).
STABILITY_RUNS ?= 50
STABILITY_HOG ?= 1
STABILITY_SUITES ?= suites/test_head_of_line.py

.PHONY: setup prereqs rootfs docker certify table image test unit lint bench stability clean gc

setup: prereqs $(STAMP) $(TOXIPROXY) $(SITE) rootfs

# One root filesystem per real MTA, built once from Debian's packages and reused; skipped with
# a note where this is not root (seedmta needs none). Postfix (the reference), Exim, OpenSMTPD
# and the sites are required; an MTA added since is skipped, with a note, where this
# machine's archive lacks its package (maddy: where this machine's Go cannot build it).
OPTIONAL_MTAS := sendmail courier haraka chasquid maddy
rootfs: $(STAMP)
	@if [ "$$(id -u)" = 0 ]; then $(BIN)/mta-harness rootfs postfix exim opensmtpd site && \
	   $(BIN)/mta-harness rootfs --skip-unavailable $(OPTIONAL_MTAS); \
	 else echo "setup: not root: skipping the real MTAs' root filesystems (seedmta only)"; fi

prereqs:
	@sh .ci/prereqs.sh "$(PYTHON)" "$(GO)"

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

# The real Toxiproxy server, built from its Go module (no prebuilt download exists here).
$(TOXIPROXY):
	@mkdir -p .tools/bin .tools/gobin
	GOTOOLCHAIN=local GOBIN=$(CURDIR)/.tools/gobin $(GO) install \
	  -ldflags "-X github.com/Shopify/toxiproxy/v2.Version=$(TOXIPROXY_VERSION)" \
	  github.com/Shopify/toxiproxy/v2/cmd/server@v$(TOXIPROXY_VERSION)
	mv .tools/gobin/server $@
	@$@ -version

# The compiled mock site (harness/sites/program.py says when it runs): Go's standard library
# only, so it builds offline; static (no cgo), so it runs in any image.
$(SITE): $(wildcard harness/sites/fastsite/*.go) harness/sites/fastsite/go.mod
	@mkdir -p .tools/bin
	cd harness/sites/fastsite && CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod $(GO) build -trimpath \
	  -o $(CURDIR)/$@ .

certify: setup
	$(BIN)/mta-harness certify --mta postfix

table: setup docker
	$(BIN)/mta-harness table --backend local --backend docker --jobs $(TABLE_JOBS) \
	  --faults certification --faults tls --faults dns --readme README.md

# The harness as a container image, mta-harness:<version> (docs/ci.md says how to run it).
image: setup docker
	$(BIN)/python -m harness.backends.docker.self_image

lint: setup
	$(BIN)/ruff check harness tests suites bench
	$(BIN)/mypy

# The docker backend's engine: Debian's docker.io, dockerd started where none runs.
docker:
	@sh .ci/docker.sh

# The unit tests alone: no root, no Docker, no Toxiproxy, no process started (seconds).
unit: $(STAMP)
	$(BIN)/pytest -q -p no:cacheprovider tests/unit

test: lint docker
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup --durations=15 tests

# Certify the two known-good and the two known-bad MTAs STABILITY_RUNS times each, with a
# CPU hog beside them, and count false verdicts (about 2 h at 50 runs; figures in
# reports/stability-*/stability.md, copied into docs/reliability.md by hand).
stability: setup
	$(BIN)/mta-harness stability --mta postfix --mta seedmta-async --mta postfix-hol \
	  --mta seedmta-sync --runs $(STABILITY_RUNS) --cpu-hog $(STABILITY_HOG) \
	  $(if $(STABILITY_SUITES),--suites $(STABILITY_SUITES))

# Figures, not verdicts (docs/performance.md): each script prints a table and writes
# bench/results/<name>.json.
bench: setup docker
	$(BIN)/python bench/world_start.py --backend local --backend docker \
	  --mta seedmta-async --mta seedmta-sync --mta postfix --mta exim --mta opensmtpd
	$(BIN)/python bench/examples_rate.py --backend local --backend docker \
	  --mta seedmta-async --mta postfix
	$(BIN)/python bench/time_to_fail.py --mta seedmta-sync --mta postfix-hol
	$(BIN)/python bench/site_throughput.py
	$(BIN)/python bench/load_ceiling.py --mta postfix
	$(BIN)/python bench/flow.py --mta seedmta-async --mta postfix
	$(BIN)/python bench/search_power.py --runs $(SEARCH_POWER_RUNS)

gc: setup
	$(BIN)/mta-harness gc

clean:
	rm -rf $(VENV) .tools .mypy_cache .ruff_cache .pytest_cache .hypothesis
