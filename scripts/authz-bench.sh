#!/usr/bin/env bash
# authz-bench.sh runs the authorization benchmarks (authz/bench_test.go)
# and prints the ratios that BENCHMARKS.md compares with the targets.
#
#   scripts/authz-bench.sh              run the benchmarks, then print the ratios
#   scripts/authz-bench.sh raw.txt      print the ratios of a saved run
#
# Environment: COUNT (runs of each benchmark, default 1; the ratios use the
# median), CPU (GOMAXPROCS of every benchmark, default 2: the targets are for
# 2 cores), BENCH (the -bench pattern, default "."), OUT (where the raw output
# goes, default a temporary file). A full run takes 5 to 10 minutes, most of it
# asking the stock enforcer at 10,000 organizations the 1,024 requests whose
# answers the three benchmarks must all give.
set -euo pipefail

if [[ $# -ge 1 ]]; then
	raw=$1
else
	cd "$(dirname "$0")/.."
	raw=${OUT:-$(mktemp "${TMPDIR:-/tmp}/authz-bench.XXXXXX")}
	{
		echo "# go test -run '^\$' -bench '${BENCH:-.}' -benchmem -count ${COUNT:-1} -cpu ${CPU:-2} -timeout 60m ./authz"
		echo "# $(go version); $(go env GOOS)/$(go env GOARCH); nproc $(nproc); $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //')"
		echo "# casbin $(go list -m -f '{{.Version}}' github.com/casbin/casbin/v2)"
	} >"$raw"
	go test -run '^$' -bench "${BENCH:-.}" -benchmem -count "${COUNT:-1}" -cpu "${CPU:-2}" -timeout 60m ./authz | tee -a "$raw"
	echo
	echo "raw output: $raw"
fi

awk '
function median(name, unit,    k, n, i, j, t, v) {
	k = name SUBSEP unit
	n = cnt[k]
	if (n == 0) return ""
	for (i = 1; i <= n; i++) v[i] = val[k, i]
	for (i = 2; i <= n; i++) { t = v[i]; for (j = i - 1; j >= 1 && v[j] > t; j--) v[j + 1] = v[j]; v[j + 1] = t }
	return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
function extreme(name, unit, want,    k, n, i, r) {
	k = name SUBSEP unit
	n = cnt[k]
	if (n == 0) return ""
	r = val[k, 1]
	for (i = 2; i <= n; i++) if ((want == "min" && val[k, i] < r) || (want == "max" && val[k, i] > r)) r = val[k, i]
	return r
}
function line(n) {
	if (median(n, "ns/op") != "")
		printf "%-46s %14.1f %14.1f %14.1f %12d %10d %5d\n", n, median(n, "ns/op"), extreme(n, "ns/op", "min"), extreme(n, "ns/op", "max"), median(n, "B/op"), median(n, "allocs/op"), cnt[n SUBSEP "ns/op"]
}
function need(x, what) { if (x == "") { missing = missing " " what; return 0 } return 1 }
function verdict(ok) { return ok ? "PASS" : "MISS" }
function row(what, got, target, ok) { printf "%-58s %14s   %-14s %s\n", what, got, target, verdict(ok) }
/^Benchmark/ {
	name = $1
	if (match(name, /-[0-9]+$/)) { procs = substr(name, RSTART + 1) + 0; name = substr(name, 1, RSTART - 1) }
	for (i = 3; i < NF; i += 2) { k = name SUBSEP $(i + 1); val[k, ++cnt[k]] = $i + 0 }
}
END {
	printf "%-46s %14s %14s %14s %12s %10s %5s\n", "benchmark", "ns/op median", "min", "max", "B/op", "allocs/op", "runs"
	split("Check CheckParallel MapLookup MapLookupParallel StockCasbin", kinds, " ")
	split("100 10000", sizes, " ")
	for (a = 1; a <= 5; a++) for (s = 1; s <= 2; s++) line("Benchmark" kinds[a] "/orgs=" sizes[s])
	split("ours-first-check ours-all stock", cold, " ")
	for (s = 1; s <= 2; s++) for (c = 1; c <= 3; c++) line("BenchmarkColdStart/orgs=" sizes[s] "/" cold[c])
	line("BenchmarkFirstCheckAfterChange")
	for (s = 1; s <= 2; s++) {
		n = "BenchmarkHeap/orgs=" sizes[s]
		if (median(n, "ratio") != "") printf "%-44s ours %.2f MiB (%d B/org), stock %.2f MiB, ratio %.3f\n", n, median(n, "ours-MiB"), median(n, "ours-B/org"), median(n, "stock-MiB"), median(n, "ratio")
	}

	print ""
	printf "%-58s %14s   %-14s %s\n", "target (GOMAXPROCS " procs "; medians)", "measured", "target", ""
	c1 = median("BenchmarkCheck/orgs=100", "ns/op"); c2 = median("BenchmarkCheck/orgs=10000", "ns/op")
	m1 = median("BenchmarkMapLookup/orgs=100", "ns/op"); m2 = median("BenchmarkMapLookup/orgs=10000", "ns/op")
	s2 = median("BenchmarkStockCasbin/orgs=10000", "ns/op")
	p1 = median("BenchmarkCheckParallel/orgs=100", "ns/op"); p2 = median("BenchmarkCheckParallel/orgs=10000", "ns/op")
	if (need(c1, "Check/100") && need(m1, "MapLookup/100")) row("Check / MapLookup, orgs=100", sprintf("%.2fx", c1 / m1), "<= 2x", c1 <= 2 * m1)
	if (need(c2, "Check/10000") && need(m2, "MapLookup/10000")) row("Check / MapLookup, orgs=10000", sprintf("%.2fx", c2 / m2), "<= 2x", c2 <= 2 * m2)
	for (s = 1; s <= 2; s++) {
		al = median("BenchmarkCheck/orgs=" sizes[s], "allocs/op")
		if (al != "") row("Check allocs/op, orgs=" sizes[s], al, "0", al == 0)
	}
	if (c1 != "" && c2 != "") row("Check orgs=10000 / Check orgs=100", sprintf("%.2fx", c2 / c1), "<= 1.25x", c2 <= 1.25 * c1)
	if (need(s2, "StockCasbin/10000") && c2 != "") row("StockCasbin / Check, orgs=10000", sprintf("%.0fx", s2 / c2), ">= 100000x", s2 >= 100000 * c2)
	if (need(p1, "CheckParallel/100") && c1 != "") row("CheckParallel / (Check / " procs "), orgs=100", sprintf("%.2fx", p1 / (c1 / procs)), "<= 1.25x", p1 <= 1.25 * c1 / procs)
	if (need(p2, "CheckParallel/10000") && c2 != "") row("CheckParallel / (Check / " procs "), orgs=10000", sprintf("%.2fx", p2 / (c2 / procs)), "<= 1.25x", p2 <= 1.25 * c2 / procs)
	h = median("BenchmarkHeap/orgs=10000", "ratio")
	if (need(h, "Heap/10000")) row("heap: Authorizer / stock Enforcer, orgs=10000", sprintf("%.3f", h), "<= 0.1", h <= 0.1)
	st = median("BenchmarkColdStart/orgs=10000/stock", "ns/op")
	o1 = median("BenchmarkColdStart/orgs=10000/ours-first-check", "ns/op")
	oa = median("BenchmarkColdStart/orgs=10000/ours-all", "ns/op")
	if (need(st, "ColdStart/10000/stock") && need(o1, "ColdStart/10000/ours-first-check")) row("cold start: first check / stock load, orgs=10000", sprintf("%.6f", o1 / st), "<= 0.2", o1 <= 0.2 * st)
	if (st != "" && need(oa, "ColdStart/10000/ours-all")) row("cold start: all orgs loaded / stock load, orgs=10000", sprintf("%.3f", oa / st), "<= 0.2", oa <= 0.2 * st)
	if (missing != "") print "\nnot in the output:" missing
}
' "$raw"
