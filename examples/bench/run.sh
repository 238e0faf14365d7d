#!/usr/bin/env bash
# End-to-end throughput: builds the CLI and the plugins, generates 1M
# events once, then runs each benchmark pipeline RUNS times (default 3) and
# prints records/s (from the run summary) and peak RSS (GNU time).
# Usage: examples/bench/run.sh [pipeline.yaml ...]
set -euo pipefail
cd "$(dirname "$0")"
root=../..
runs=${RUNS:-3}
make -s -C "$root" build plugins >/dev/null
bin=$root/bin/conveyor-wasm
[ -f data/events.jsonl ] || "$bin" run --progress 0 gen.yaml 2>/dev/null
pipelines=("$@")
[ ${#pipelines[@]} -gt 0 ] || pipelines=(passthrough.yaml filter-fanout.yaml wasm-noop.yaml wasm-noop-parallel.yaml wasm-noop-no-limit.yaml two-files.yaml fan-in.yaml)
timer=(/usr/bin/time -f '%M')
[ -x /usr/bin/time ] || timer=()
for p in "${pipelines[@]}"; do
	for i in $(seq "$runs"); do
		out=$( { "${timer[@]}" "$bin" run --progress 0 "$p"; } 2>&1 )
		rate=$(sed -n 's/.*(\([0-9]*\) records\/s).*/\1/p' <<<"$out" | tail -1)
		rss=$(tail -1 <<<"$out")
		[ ${#timer[@]} -gt 0 ] || rss="?"
		printf '%-20s run %d: %10s records/s  peak RSS %s KB\n' "$p" "$i" "$rate" "$rss"
	done
done
