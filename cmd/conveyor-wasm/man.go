package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

// manPage renders the man page (section 1) of the app from its commands
// and flags, with urfave/cli's generator.
func manPage(app *cli.App) (string, error) {
	if app.Description == "" {
		a := *app
		a.Description = "conveyor-wasm runs streaming and ETL pipelines described in YAML files: sources, a DAG of stages (filters, mappings, Wasm transforms, lookups, fan-out and fan-in) with CEL conditions on its edges, and sinks, with event time, watermarks and checkpoints. " +
			"The reference of pipeline files is printed by `conveyor-wasm docs`; their JSON Schema by `conveyor-wasm docs --format jsonschema`."
		app = &a
	}
	s, err := app.ToManWithSection(1)
	if err != nil {
		return "", fmt.Errorf("man page: %w", err)
	}
	return s, nil
}
