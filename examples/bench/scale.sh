#!/usr/bin/env bash
# Scaling benchmark (issue 7): how throughput grows with cores. Builds the
# CLI and the plugins, generates one input file of RECORDS JSON lines
# (~85 B each) once, then runs each pipeline in scale/ at every GOMAXPROCS
# in PROCS and prints a Markdown table of records/s (from the run summary),
# CPU seconds (user+sys), CPU seconds per million records and peak RSS
# (GNU time). Every run's output files are checked against line counts the
# generator computed on its own (scale/gen.awk); a mismatch, a failed run or
# a dead letter makes the script exit 1 after the table.
#
# Usage: examples/bench/scale.sh
#   RECORDS=10000000        input size (a file per size is kept in data/)
#   PROCS="1 2 4 8 16"      GOMAXPROCS values (default: those up to nproc)
#   PIPELINES="passthrough filter fanout lookup wasm-noop regex-filter"
#   RUNS=1                  runs per cell; the fastest is reported
#   SKIP_BUILD=1            do not run make (no Go toolchain, no network)
#   BIN=path                the conveyor-wasm binary (default ../../bin/conveyor-wasm)
#   PLUGIN_DIR=path         the built example plugins (default ../../bin/plugins)
#   KEEP_OUT=1              keep the last run's outputs in out/scale/
# Needs bash, awk, wc and GNU time (/usr/bin/time; without it, no RSS).
set -euo pipefail

abs() { case $1 in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
bin=$(abs "${BIN:-$(dirname "$0")/../../bin/conveyor-wasm}")
plugin_dir=$(abs "${PLUGIN_DIR:-$(dirname "$0")/../../bin/plugins}")
cd "$(dirname "$0")"

records=${RECORDS:-10000000}
runs=${RUNS:-1}
pipelines=(${PIPELINES:-passthrough filter fanout lookup wasm-noop regex-filter})
cores=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN)
if [ -n "${PROCS:-}" ]; then
	procs=($PROCS)
else
	procs=()
	for p in 1 2 4 8 16; do [ "$p" -le "$cores" ] && procs+=("$p"); done
fi

if [ -z "${SKIP_BUILD:-}" ]; then
	make -s -C ../.. build plugins >/dev/null
fi
[ -x "$bin" ] || { echo "scale.sh: no binary at $bin (build it, or set BIN)" >&2; exit 2; }
[ -f "$plugin_dir/noop.wasm" ] || { echo "scale.sh: no $plugin_dir/noop.wasm (build the plugins, or set PLUGIN_DIR)" >&2; exit 2; }

# The input, its expected counts and the lookup table, generated once.
mkdir -p data out/scale
data=data/scale-$records.jsonl
counts=data/scale-$records.counts
if [ ! -f "$data" ] || [ ! -f "$counts" ]; then
	echo "generating $records records into examples/bench/$data" >&2
	awk -v n="$records" -v counts="$counts.tmp" -f scale/gen.awk >"$data.tmp"
	mv "$data.tmp" "$data" && mv "$counts.tmp" "$counts"
fi
if [ ! -f data/scale-users.jsonl ]; then
	awk 'BEGIN { for (i = 0; i < 1000; i++) printf "{\"id\":\"u%d\",\"name\":\"user %d\",\"tier\":\"%s\",\"since\":%d}\n", i, i, (i % 10 == 0 ? "gold" : "basic"), 2010 + i % 15 }' >data/scale-users.jsonl.tmp
	mv data/scale-users.jsonl.tmp data/scale-users.jsonl
fi
count() { awk -v k="$1" '$1 == k { print $2 }' "$counts"; }
n=$(count records)
ln -sfn "$plugin_dir/noop.wasm" out/scale/noop.wasm

# expect PIPELINE prints "file lines" pairs: what each output must hold.
expect() {
	case $1 in
	passthrough) echo "passthrough.jsonl $n" ;;
	filter) echo "filter.jsonl $(count country_de)" ;;
	fanout) echo "fanout-all.jsonl $n"; echo "fanout-big.jsonl $(count amount_gt_500)" ;;
	lookup) echo "lookup.jsonl $n" ;;
	wasm-noop) echo "wasm-noop.jsonl $n" ;;
	regex-filter) echo "regex-filter.jsonl $(count regex_matches)" ;;
	*) echo "scale.sh: unknown pipeline $1" >&2; return 1 ;;
	esac
}

timer=()
[ -x /usr/bin/time ] && timer=(/usr/bin/time -o out/scale/time.txt -f '%e %U %S %M')
log=out/scale/run.log
failures=()
declare -A rate cpu rss wall

# run PIPELINE PROCS: one run; sets r_rate, r_wall, r_cpu, r_rss; returns 1
# on a failed run or a wrong output.
run() {
	local p=$1 gmp=$2 f want got ok=0
	while read -r f want; do rm -f "out/scale/$f"; done < <(expect "$p")
	if [ ${#timer[@]} -gt 0 ]; then
		GOMAXPROCS=$gmp "${timer[@]}" "$bin" run --progress 0 "scale/$p.yaml" >/dev/null 2>"$log" || ok=1
		read -r r_wall user sys r_rss <out/scale/time.txt
		r_cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
		r_rss=$((r_rss / 1024))
	else
		local TIMEFORMAT='%R %U %S'
		{ time GOMAXPROCS=$gmp "$bin" run --progress 0 "scale/$p.yaml" >/dev/null 2>"$log" || ok=1; } 2>out/scale/time.txt
		read -r r_wall user sys <out/scale/time.txt
		r_cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
		r_rss="?"
	fi
	local summary
	summary=$(grep '^summary: ' "$log" | tail -1 || true)
	r_rate=$(sed -n 's/.*(\([0-9]*\) records\/s).*/\1/p' <<<"$summary")
	: "${r_rate:=0}"
	if [ $ok -ne 0 ]; then
		failures+=("$p GOMAXPROCS=$gmp: the run failed: $(grep -v '^progress: ' "$log" | tail -3 | tr '\n' ' ')")
		return 1
	fi
	local dl
	dl=$(sed -n 's/.*dead-lettered \([0-9]*\).*/\1/p' <<<"$summary")
	if [ "${dl:-0}" != 0 ]; then
		failures+=("$p GOMAXPROCS=$gmp: $dl records dead-lettered (first: $(grep -v '^summary: \|^progress: ' "$log" | head -1 | cut -c1-200))")
		ok=1
	fi
	while read -r f want; do
		got=$( [ -f "out/scale/$f" ] && wc -l <"out/scale/$f" || echo missing)
		got=${got// /}
		if [ "$got" != "$want" ]; then
			failures+=("$p GOMAXPROCS=$gmp: out/scale/$f has $got lines, want $want")
			ok=1
		fi
		[ -n "${KEEP_OUT:-}" ] || rm -f "out/scale/$f"
	done < <(expect "$p")
	return $ok
}

# A small warm-up run of every pipeline: checks that each one loads and
# fills the plugin compilation cache, so that no measured run compiles.
head -n 1000 "$data" >out/scale/warmup.jsonl
ln -sfn warmup.jsonl out/scale/in.jsonl
for p in "${pipelines[@]}"; do
	expect "$p" >/dev/null
	GOMAXPROCS=1 "$bin" run --progress 0 "scale/$p.yaml" >/dev/null 2>"$log" || {
		echo "scale.sh: warm-up run of scale/$p.yaml failed:" >&2
		cat "$log" >&2
		exit 1
	}
done
ln -sfn "../../$data" out/scale/in.jsonl

echo "$records records ($(wc -c <"$data" | tr -d ' ') bytes), $cores cores, GOMAXPROCS ${procs[*]}, best of $runs run(s), $("$bin" version)" >&2
for p in "${pipelines[@]}"; do
	for gmp in "${procs[@]}"; do
		best=-1
		for _ in $(seq "$runs"); do
			run "$p" "$gmp" || true
			printf '%-13s GOMAXPROCS=%-2s %10s records/s  %6ss wall  %7s CPU s  %6s MB\n' "$p" "$gmp" "$r_rate" "$r_wall" "$r_cpu" "$r_rss" >&2
			if [ "$r_rate" -gt "$best" ]; then
				best=$r_rate
				rate[$p,$gmp]=$r_rate wall[$p,$gmp]=$r_wall cpu[$p,$gmp]=$r_cpu rss[$p,$gmp]=$r_rss
			fi
		done
	done
done
[ -n "${KEEP_OUT:-}" ] || rm -f out/scale/warmup.jsonl

# Markdown: records/s per pipeline and GOMAXPROCS, with the speedup of the
# largest GOMAXPROCS over 1; then CPU and memory per run.
human() { awk -v r="$1" 'BEGIN { if (r >= 1e6) printf "%.2fM", r / 1e6; else printf "%.0fk", r / 1e3 }'; }
echo
echo "records/s, $records records, $cores cores:"
echo
hdr="| pipeline |" sep="|---|"
for gmp in "${procs[@]}"; do hdr+=" $gmp |" sep+="---|"; done
last=${procs[${#procs[@]}-1]}
[ "${procs[0]}" = 1 ] && [ "$last" != 1 ] && hdr+=" $last vs 1 |" sep+="---|"
echo "$hdr"
echo "$sep"
for p in "${pipelines[@]}"; do
	line="| $p |"
	for gmp in "${procs[@]}"; do line+=" $(human "${rate[$p,$gmp]}") |"; done
	if [ "${procs[0]}" = 1 ] && [ "$last" != 1 ]; then
		line+=" $(awk -v a="${rate[$p,$last]}" -v b="${rate[$p,1]}" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }') |"
	fi
	echo "$line"
done
echo
echo "| pipeline | GOMAXPROCS | records/s | wall s | CPU s | CPU s / M records | peak RSS MB |"
echo "|---|---|---|---|---|---|---|"
for p in "${pipelines[@]}"; do
	for gmp in "${procs[@]}"; do
		per=$(awk -v c="${cpu[$p,$gmp]}" -v n="$n" 'BEGIN { printf "%.2f", c / (n / 1e6) }')
		echo "| $p | $gmp | ${rate[$p,$gmp]} | ${wall[$p,$gmp]} | ${cpu[$p,$gmp]} | $per | ${rss[$p,$gmp]} |"
	done
done

if [ ${#failures[@]} -gt 0 ]; then
	echo
	echo "FAILED checks:"
	printf -- '- %s\n' "${failures[@]}"
	exit 1
fi
echo
echo "all output line counts as expected"
