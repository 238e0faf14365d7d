# conveyor-wasm developer tasks. `make demo` and `make test` are the two
# commands the README starts with; CI (.ci/run) calls `make test`.

GO       ?= go
BIN      := bin/conveyor-wasm
WASM_OUT := bin/plugins

.PHONY: all build demo test lint race wasmtime plugins bench bench-e2e bench-scale docs clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/conveyor-wasm

# Example Wasm plugins, built from source with the standard Go toolchain.
plugins:
	@mkdir -p $(WASM_OUT)
	@for d in examples/plugins/*/; do \
		n=$$(basename $$d); \
		[ -f $$d/main.go ] || continue; \
		echo "building plugin $$n"; \
		GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -o $(WASM_OUT)/$$n.wasm ./$$d || exit 1; \
	done

# The main job: an example pipeline with a Wasm transform, end to end.
demo: build plugins
	./$(BIN) run examples/wasm-redact/pipeline.yaml
	@echo "--- first lines of examples/wasm-redact/out/redacted.jsonl:"
	@head -n 3 examples/wasm-redact/out/redacted.jsonl
	@echo "--- dead letters (examples/wasm-redact/out/dead-letters.jsonl), with their reasons:"
	@cut -c1-160 examples/wasm-redact/out/dead-letters.jsonl

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# Every test of every package, under the race detector.
race:
	$(GO) test -race -count=1 -timeout 30m ./...

# The plugin host and the SDKs again on the wasmtime runtime (cgo; the
# runtime is opt-in at build time: -tags wasmtime), including the
# conformance suite over every guest SDK.
wasmtime:
	$(GO) test -count=1 -timeout 20m -tags wasmtime ./plugins/... ./sdk/...

# The whole test suite: formatting, vet, every test under the race
# detector, and the plugin tests on wasmtime.
test: lint race wasmtime

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./engine/ ./conditions/ ./watermark/ ./abi/ ./plugins/

# End-to-end throughput of the pipelines in examples/bench (1M records).
bench-e2e:
	examples/bench/run.sh

# Throughput at GOMAXPROCS 1, 2, 4, 8, 16 (up to the cores present) on one
# 10M-record file, with CPU seconds, peak RSS and output line counts checked
# (RECORDS, PROCS, PIPELINES: see the script).
bench-scale:
	examples/bench/scale.sh

# Regenerates docs/reference.md from the config structs (a CLI test fails
# when the committed file is stale).
docs:
	$(GO) run ./cmd/conveyor-wasm docs > docs/reference.md

clean:
	rm -rf bin examples/*/out
