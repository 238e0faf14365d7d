package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/conveyor-etl/conveyor-wasm/sdk/go/scaffold"
)

// pluginNewCommand is `conveyor-wasm plugin new`: write a plugin project
// that builds and passes its own test out of the box.
func pluginNewCommand() *cli.Command {
	return &cli.Command{
		Name:  "new",
		Usage: "create a plugin project (Go, Rust or C) that builds and passes its own test",
		Description: "Writes NAME/ (or --dir) with a transform that tags records, a unit test, a\n" +
			"build script and test.sh (unit tests, Wasm build, `conveyor-wasm plugin test`).\n" +
			"Go projects carry a copy of the Go SDK in third_party/ (the SDK is not published\n" +
			"as a module; go.mod replaces it), Rust projects the SDK crate, C projects conveyor.h.",
		ArgsUsage: "NAME",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "lang", Value: "go", Usage: "`LANGUAGE`: " + strings.Join(scaffold.Languages, ", ")},
			&cli.StringFlag{Name: "dir", Usage: "project `DIR` (default: NAME)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return &exitError{code: 2, err: errors.New("usage: conveyor-wasm plugin new --lang go|rust|c NAME")}
			}
			name := c.Args().First()
			dir := c.String("dir")
			if dir == "" {
				dir = name
			}
			cliPath := "conveyor-wasm"
			if exe, err := os.Executable(); err == nil && !strings.Contains(exe, os.TempDir()) {
				cliPath = exe
			}
			files, err := scaffold.New(scaffold.Options{Lang: c.String("lang"), Name: name, Dir: dir, CLI: cliPath})
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			fmt.Fprintf(c.App.Writer, "created %s (%s, %d files); next: cd %s && ./test.sh\n", dir, c.String("lang"), len(files), dir)
			return nil
		},
	}
}
