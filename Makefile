# Targets for working on provisioning. `make help` lists them.

GO             ?= go
STATICCHECK    ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2
POSTGRES_DSN   ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable
MYSQL_DSN      ?= root@tcp(127.0.0.1:3306)/test

.PHONY: help test test-race test-db lint bench quickstart monolith ci

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

test: ## run the tests (SQLite only)
	$(GO) test ./...

test-race: ## run the tests with the race detector
	$(GO) test -race ./...

test-db: ## run the tests on SQLite, PostgreSQL and MySQL (local servers, see POSTGRES_DSN/MYSQL_DSN)
	PROVISIONING_TEST_POSTGRES_DSN='$(POSTGRES_DSN)' PROVISIONING_TEST_MYSQL_DSN='$(MYSQL_DSN)' \
		$(GO) test -race -count=1 ./...

lint: ## gofmt check, go vet, staticcheck
	@unformatted=$$(gofmt -l .); if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...

bench: ## run every benchmark: authorization and scale (the latter writes BENCHMARKS.md); see BENCHMARKS.md
	bash scripts/authz-bench.sh
	bash scripts/bench.sh

quickstart: ## run the quick start on in-memory SQLite
	$(GO) run ./examples/quickstart

monolith: ## run the fx monolith example
	$(GO) run ./examples/monolith

ci: ## what CI runs: databases, lint, all tests (no skip allowed), examples
	bash .ci/run
