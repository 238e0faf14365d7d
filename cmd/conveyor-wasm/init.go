package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/conveyor-etl/conveyor-wasm/cmd/conveyor-wasm/internal/pipetest"
	"github.com/conveyor-etl/conveyor-wasm/engine"
	"github.com/urfave/cli/v2"
)

// starterPipeline is what init writes: a small pipeline that runs as is,
// with a comment on every section.
const starterPipeline = `# yaml-language-server: $schema=pipeline.schema.json
# A starter pipeline, written by conveyor-wasm init.
#   conveyor-wasm validate pipeline.yaml   # check it, every problem with its line
#   conveyor-wasm run pipeline.yaml        # run it: data/orders.jsonl -> out/
#   conveyor-wasm test                     # run pipeline_test.yaml
#   conveyor-wasm graph --format mermaid pipeline.yaml
# Every key is in the reference: conveyor-wasm docs. Values may read the
# environment: ${VAR}, or ${VAR:default} (here: INPUT).
id: starter
name: Starter pipeline

settings:
  # Records no edge accepts, and records that fail, go to this service
  # with the reason.
  dead_letter: rejected

# Where records come from: here, a file of JSON lines (one record a line).
sources:
  - name: orders
    type: file
    path: ${INPUT:data/orders.jsonl}
    key_field: id

# Named sinks (and plugins) that stages use by service_name.
services:
  large-orders:
    type: file
    path: out/large-orders.jsonl
  other-orders:
    type: file
    path: out/other-orders.jsonl
  rejected:
    type: file
    path: out/rejected.jsonl

# The DAG's nodes.
stages:
  # A metadata stage sets metadata from CEL expressions over the record.
  - id: size
    type: metadata
    set:
      size: 'double(record.payload.price) * double(record.payload.qty) >= 100.0 ? "large" : "small"'

  - id: large
    type: sink
    service_name: large-orders

  - id: other
    type: sink
    service_name: other-orders

# The DAG's edges: a record goes down every edge whose condition holds;
# an else-edge takes the records no other edge from its node took.
edges:
  - {from: orders, to: size}
  - {from: size, to: large, condition: record.metadata.size == "large"}
  - {from: size, to: other, condition: else}
`

// starterTest tests the starter pipeline in memory (conveyor-wasm test).
const starterTest = `# yaml-language-server: $schema=pipeline_test.schema.json
# conveyor-wasm test: records in per source, expectations per sink.
pipeline: pipeline.yaml
cases:
  - name: large orders are split from the others
    inputs:
      orders:
        - payload: {id: a1, price: 40, qty: 3}
        - payload: {id: a2, price: 5, qty: 2}
    expect:
      large-orders:
        records:
          - payload: {id: a1, price: 40, qty: 3}
            key: a1
            metadata: {size: large}
      other-orders:
        count: 1
        contains:
          - payload: {id: a2}
            metadata: {size: small}
`

const starterInput = `{"id":"a1","price":40,"qty":3}
{"id":"a2","price":5,"qty":2}
{"id":"a3","price":12.5,"qty":10}
`

const starterReadme = `# Starter pipeline

Written by ` + "`conveyor-wasm init`" + `.

| file | what |
|---|---|
| pipeline.yaml | the pipeline: orders from data/orders.jsonl are sized (price * qty); large ones go to out/large-orders.jsonl, the others to out/other-orders.jsonl |
| pipeline_test.yaml | its tests, run in memory by ` + "`conveyor-wasm test`" + ` |
| pipeline.schema.json | the JSON Schema of pipeline files, for editors (the first line of pipeline.yaml points the YAML language server at it); regenerate it with ` + "`conveyor-wasm docs --format jsonschema > pipeline.schema.json`" + ` |
| pipeline_test.schema.json | the same for the test file: ` + "`conveyor-wasm docs --format test-jsonschema > pipeline_test.schema.json`" + ` |
| data/orders.jsonl | sample input |

    conveyor-wasm validate pipeline.yaml
    conveyor-wasm run pipeline.yaml
    conveyor-wasm test
    INPUT=other.jsonl conveyor-wasm run pipeline.yaml                  # ${INPUT:...}
    conveyor-wasm run --set sources.orders.path=other.jsonl pipeline.yaml
    conveyor-wasm docs                                                 # every key
`

func initCommand() *cli.Command {
	return &cli.Command{
		Name:      "init",
		Usage:     "write a commented starter pipeline, its test file, sample data, the JSON Schema and a README into DIR (default .)",
		ArgsUsage: "[DIR]",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "force", Usage: "overwrite files that exist"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 1 {
				return &exitError{code: 2, err: errors.New("usage: conveyor-wasm init [DIR]")}
			}
			dir := c.Args().First()
			if dir == "" {
				dir = "."
			}
			var schema, testSchema bytes.Buffer
			if err := engine.WriteJSONSchema(&schema); err != nil {
				return &exitError{code: 1, err: err}
			}
			if err := pipetest.WriteJSONSchema(&testSchema); err != nil {
				return &exitError{code: 1, err: err}
			}
			files := []struct{ name, content string }{
				{"pipeline.yaml", starterPipeline},
				{"pipeline_test.yaml", starterTest},
				{"pipeline.schema.json", schema.String()},
				{"pipeline_test.schema.json", testSchema.String()},
				{filepath.Join("data", "orders.jsonl"), starterInput},
				{"README.md", starterReadme},
			}
			if !c.Bool("force") {
				for _, f := range files {
					p := filepath.Join(dir, f.name)
					if _, err := os.Stat(p); err == nil {
						return &exitError{code: 1, err: fmt.Errorf("init: %s exists (--force overwrites it)", p)}
					} else if !errors.Is(err, fs.ErrNotExist) {
						return &exitError{code: 1, err: fmt.Errorf("init: %w", err)}
					}
				}
			}
			for _, f := range files {
				p := filepath.Join(dir, f.name)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					return &exitError{code: 1, err: fmt.Errorf("init: %w", err)}
				}
				if err := os.WriteFile(p, []byte(f.content), 0o644); err != nil {
					return &exitError{code: 1, err: fmt.Errorf("init: %w", err)}
				}
			}
			fmt.Fprintf(c.App.Writer, "wrote a starter pipeline in %s: conveyor-wasm validate %s\n", dir, filepath.Join(dir, "pipeline.yaml"))
			return nil
		},
	}
}
