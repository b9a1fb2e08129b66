#!/usr/bin/env bash
# bench.sh runs the scale benchmarks (package bench) and writes their
# figures, each as a ratio to its baseline from the same run, into the
# generated section of BENCHMARKS.md, with a plot of check and page costs
# against organization size (docs/bench-by-size.svg).
#
#   scripts/bench.sh             run everything, then write the report
#   scripts/bench.sh raw.txt     write the report of a saved run
#
# The first run builds the dataset of 1,000,000 memberships (a few minutes
# each for SQLite and PostgreSQL) and keeps it: SQLite under bench-data/
# (ignored by git), PostgreSQL in the schema bench_dataset_v2 of the
# database of PROVISIONING_TEST_POSTGRES_DSN (unset: the local test
# database below; set it empty to run SQLite only). Environment: COUNT
# (runs of each benchmark, default 3; the report uses medians), CPU
# (GOMAXPROCS, default 2), BENCH (the -bench pattern, default "."), OUT
# (the raw output, default under bench-data/).
# Run it on an idle machine: the figures are ratios of the same run, but a
# busy machine moves them.
set -euo pipefail
cd "$(dirname "$0")/.."
export PROVISIONING_TEST_POSTGRES_DSN=${PROVISIONING_TEST_POSTGRES_DSN-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}

if [[ $# -ge 1 ]]; then
	raw=$1
else
	mkdir -p bench-data
	raw=${OUT:-bench-data/bench-$(date -u +%Y%m%dT%H%M%SZ).txt}
	cmd="go test -run '^\$' -bench '${BENCH:-.}' -benchmem -count ${COUNT:-3} -cpu ${CPU:-2} -timeout 180m ./bench"
	{
		echo "# scripts/bench.sh, which ran: $cmd"
		echo "# $(go version); $(go env GOOS)/$(go env GOARCH); nproc $(nproc); $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //'); $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
		echo "# $(psql --version 2>/dev/null || echo 'psql: not found'); SQLite $(go list -m -f '{{.Version}}' modernc.org/sqlite) (modernc); bun $(go list -m -f '{{.Version}}' github.com/uptrace/bun); casbin $(go list -m -f '{{.Version}}' github.com/casbin/casbin/v2)"
		echo "# 1-minute load average at the start: $(cut -d' ' -f1 /proc/loadavg)"
	} >"$raw"
	go test -run '^$' -bench "${BENCH:-.}" -benchmem -count "${COUNT:-3}" -cpu "${CPU:-2}" -timeout 180m ./bench | tee -a "$raw"
	echo "# 1-minute load average at the end: $(cut -d' ' -f1 /proc/loadavg)" >>"$raw"
	echo "raw output: $raw"
fi
go run ./bench/report -in "$raw" -md BENCHMARKS.md -svg docs/bench-by-size.svg
echo "wrote BENCHMARKS.md (generated section) and docs/bench-by-size.svg"
