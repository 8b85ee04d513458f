# aiadmin — see README.md. Every target works on a fresh machine with Go;
# `make test` installs the Valkey-compatible server the tests need.

GO        ?= go
BIN       := bin/aiadmin
CTL       := bin/aiadminctl
# Where `make contract` runs its own demo server (not 8080, so that a
# `make run` left running does not collide with it).
CONTRACT_ADDR ?= 127.0.0.1:18080
ARGS      ?=
# A count, not a duration: with a duration Go 1.26's fuzz coordinator can
# fail a clean run with "context deadline exceeded" at the deadline
# (go.dev/issue/75804, fixed in Go 1.27). A count has no deadline to race.
FUZZTIME  ?= 20000x
PKGS      := ./...
# Domain packages speak their own types; only the HTTP layer maps them to gen/.
DOMAIN_PKGS := ./server/pods ./server/pool ./server/summary ./server/demo ./clients/fleet/... ./clients/runpod/... ./clients/authapi/... ./clients/auth/... ./clients/flight/...
# The version --version prints: the git description of the commit built
# ("dev" outside a git checkout); a plain go build prints dev too.
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.PHONY: all deps generate check-generate check-deps build run contract test test-short lint bench bench-http bench-http-short faults faults-short fuzz screenshots clean

all: build

## deps: install what the tests need, if missing: a Valkey-compatible server
## (redis-server 7) and a headless Chromium for the dashboard's browser tests.
deps:
	@if command -v valkey-server >/dev/null 2>&1 || command -v redis-server >/dev/null 2>&1; then \
		echo "deps: $$(command -v valkey-server || command -v redis-server) found"; \
	else \
		echo "deps: installing redis-server (Valkey-compatible) with apt-get"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq redis-server >/dev/null && \
		$$SUDO systemctl disable --now redis-server >/dev/null 2>&1 || true; \
		command -v redis-server >/dev/null || { echo "deps: could not install redis-server; install valkey-server or redis-server and retry" >&2; exit 1; }; \
	fi
	@if command -v chromium-headless-shell >/dev/null 2>&1 || command -v chromium >/dev/null 2>&1; then \
		echo "deps: $$(command -v chromium-headless-shell || command -v chromium) found"; \
	else \
		echo "deps: installing chromium-headless-shell (the dashboard's browser tests) with apt-get"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium-headless-shell >/dev/null; \
		command -v chromium-headless-shell >/dev/null || { echo "deps: could not install chromium-headless-shell; install chromium-headless-shell or chromium and retry" >&2; exit 1; }; \
	fi

## generate: regenerate gen/ from openapi/admin.yaml.
generate:
	$(GO) tool oapi-codegen -config openapi/server.cfg.yaml openapi/admin.yaml
	$(GO) tool oapi-codegen -config openapi/client.cfg.yaml openapi/admin.yaml

## check-generate: fail when gen/ differs from what the spec generates.
check-generate: generate
	@git diff --exit-code -- gen/ || { echo "gen/ is stale: run make generate and commit the result" >&2; exit 1; }
	@test -z "$$(git status --porcelain -- gen/)" || { git status --porcelain -- gen/; echo "gen/ has untracked changes: run make generate and commit the result" >&2; exit 1; }

## check-deps: fail when the aiadmin binary links test-support code: a package
## named testing or ending in "test" (net/http/httptest, runpodtest...). The
## standard library's internal packages are runtime plumbing (package sync
## imports internal/synctest) and are not test support.
check-deps:
	@deps=$$($(GO) list -deps -f '{{.ImportPath}} {{.Name}} {{.Standard}}' ./server/cmd/aiadmin) || \
		{ echo "check-deps: go list failed" >&2; exit 1; }; \
	bad=$$(echo "$$deps" | awk '!($$3 == "true" && $$1 ~ /(^|\/)internal(\/|$$)/) && ($$2 == "testing" || $$2 ~ /test$$/) { print $$1 }'); \
	if [ -n "$$bad" ]; then \
		echo "check-deps: the aiadmin binary links test-support packages:" >&2; \
		for p in $$bad; do \
			by=$$($(GO) list -deps -f '{{.ImportPath}} {{join .Imports " "}}' ./server/cmd/aiadmin | \
				awk -v p="$$p" '{ for (i = 2; i <= NF; i++) if ($$i == p) print $$1 }' | tr '\n' ' '); \
			echo "  $$p (imported by: $$by)" >&2; \
		done; \
		echo "check-deps: test support must stay in _test.go files or in packages the binary does not import" >&2; \
		exit 1; \
	fi; \
	echo "check-deps: the aiadmin binary links no test-support package"
	@for p in $(DOMAIN_PKGS); do \
		deps=$$($(GO) list -deps $$p) || exit 1; \
		if echo "$$deps" | grep -q '/aiadmin/gen/'; then \
			echo "check-deps: domain package $$p imports generated wire types (gen/); only server/httpapi may" >&2; exit 1; \
		fi; \
	done; echo "check-deps: no domain package imports gen/"

## build: build bin/aiadmin, stamped with VERSION, and bin/aiadminctl.
build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./server/cmd/aiadmin
	$(GO) build -o $(CTL) ./tools/aiadminctl

## run: start the service on the embedded store with a living demo fleet.
run: build
	./$(BIN) $(ARGS)

## contract: start `make run`'s demo server in the background with a throwaway
## credential, run `aiadminctl contract --writes` against it, and stop it.
## Its rate limits are off: the suite sends dozens of wrong credentials from
## one address, which the default --auth-failure-limit would stop.
contract: build
	@set -e; dir=$$(mktemp -d); \
	token=tok_$$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n'); \
	hash=$$(printf '%s\n' "$$token" | ./$(BIN) hash-secret); \
	printf 'credentials:\n  - user_id: usr_contract\n    roles: [ai_admin]\n    bearer_sha256: %s\n' "$$hash" > $$dir/auth.yaml; \
	./$(BIN) --listen $(CONTRACT_ADDR) --auth-file $$dir/auth.yaml --log-level warn \
		--rate-limit 0 --rate-limit-writes 0 --auth-failure-limit 0 $(ARGS) > $$dir/server.log 2>&1 & pid=$$!; \
	trap 'kill $$pid 2>/dev/null; wait $$pid 2>/dev/null; rm -rf $$dir' EXIT; \
	export AIADMIN_URL=http://$(CONTRACT_ADDR) AIADMIN_TOKEN=$$token; \
	for i in $$(seq 1 30); do ./$(CTL) affinity metrics --timeout 1s >/dev/null 2>&1 && break; \
		kill -0 $$pid 2>/dev/null || { cat $$dir/server.log >&2; exit 1; }; sleep 0.5; done; \
	./$(CTL) contract --writes

## test: install what the tests need, then run every test with the race detector,
## and the contract tests once more with the ThreatWinds Auth API mode.
test: deps
	$(GO) test -race -count=1 -timeout 20m $(PKGS)
	AIADMIN_TEST_AUTH_MODE=threatwinds $(GO) test -race -count=1 -timeout 10m -run 'Contract' ./server/...

## lint: gofmt, go vet and staticcheck.
lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
		if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) tool staticcheck $(PKGS)

## bench: run the benchmarks; each prints the ratio or latency the design promises.
bench: deps
	$(GO) test -run '^$$' -bench . -benchtime 40x -timeout 30m ./clients/fleet/
	$(GO) test -run '^$$' -bench . -benchtime 300x -timeout 30m ./server/httpapi/
	$(GO) test -run '^$$' -bench . -benchtime 5x -timeout 30m ./server/summary/
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 30m ./server/pool/

## faults: run bin/aiadmin under steady load through every fault scenario of
## tools/faults (Valkey killed, a cluster master killed, RunPod and the Auth
## API failing, SIGTERM, 1,000 connections); it prints each scenario's figures
## and fails when a resilience bound is missed. FAULTS_ARGS adds flags
## (-run valkey,auth runs some scenarios only).
FAULTS_ARGS ?=
faults: deps build
	$(GO) build -o bin/faults ./tools/faults
	./bin/faults -aiadmin $(BIN) $(FAULTS_ARGS)

## faults-short: the same with shorter phases, as CI runs it (about two minutes).
faults-short: deps build
	$(GO) build -o bin/faults ./tools/faults
	./bin/faults -short -aiadmin $(BIN) $(FAULTS_ARGS)

## bench-http: measure aiadmin under closed-loop load against its baselines
## (tools/loadtest, about ten minutes) and write the table into
## tools/loadtest/BENCHMARKS.md. LOADTEST_ARGS adds flags (-only pods, ...).
LOADTEST  := bin/loadtest
LOADTEST_ARGS ?=
bench-http: build
	$(GO) build -o $(LOADTEST) ./tools/loadtest
	./$(LOADTEST) -aiadmin $(BIN) -markdown tools/loadtest/BENCHMARKS.md $(LOADTEST_ARGS)

## bench-http-short: the same in a few seconds per operation, for CI; it
## fails only when a request fails, not on a missed target.
bench-http-short: build
	$(GO) build -o $(LOADTEST) ./tools/loadtest
	./$(LOADTEST) -aiadmin $(BIN) -short $(LOADTEST_ARGS)

## fuzz: run every fuzz target for FUZZTIME (executions; -timeout still bounds each run).
fuzz:
	@set -e; for pkg in $$($(GO) list $(PKGS)); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz' || true); do \
			echo "fuzz: $$pkg $$f ($(FUZZTIME))"; \
			$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -timeout 5m $$pkg; \
		done; \
	done

## screenshots: run the dashboard's browser tests and write a screenshot of each
## view into server/dashboard/screenshots/, which the README shows.
screenshots: deps
	$(GO) test -count=1 -run 'TestDashboard' ./server/dashboard -update-screenshots

clean:
	rm -rf bin
