package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/conveyor-etl/conveyor-wasm/cmd/conveyor-wasm/internal/pipetest"
	"github.com/urfave/cli/v2"
)

// testCommand runs pipeline test files (see package pipetest for the
// format): exit 0 when every case passes, 1 when one fails or a test file
// cannot run, 2 on a usage error.
func testCommand() *cli.Command {
	return &cli.Command{
		Name:      "test",
		Usage:     "run pipeline test files (*_test.yaml): records in per source, expectations per sink and for dead letters",
		ArgsUsage: "[PATH...]  (test files, or directories searched for *_test.yaml; default .)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Value: "text", Usage: "text (like go test) or junit (JUnit XML on stdout)"},
			&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "list passing cases too"},
			&cli.StringFlag{Name: "run", Usage: "run only the cases whose name contains this"},
			&cli.StringFlag{Name: "plugin-cache", Usage: "directory for compiled Wasm modules (default: the user cache dir)"},
		},
		Action: func(c *cli.Context) error {
			format := c.String("format")
			if format != "text" && format != "junit" {
				return &exitError{code: 2, err: fmt.Errorf("--format: unknown format %q (want text or junit)", format)}
			}
			files, err := pipetest.Discover(c.Args().Slice())
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			if len(files) == 0 {
				return &exitError{code: 1, err: errors.New("no test files (*_test.yaml) found")}
			}
			opts := pipetest.Options{PluginCacheDir: c.String("plugin-cache"), Run: c.String("run")}
			results := runTests(c.Context, files, opts)
			if format == "junit" {
				if err := pipetest.WriteJUnit(c.App.Writer, results); err != nil {
					return &exitError{code: 2, err: err}
				}
			} else {
				pipetest.WriteText(c.App.Writer, results, c.Bool("verbose"))
			}
			for _, r := range results {
				if r.Failed() {
					return &exitError{code: 1, err: errors.New("")}
				}
			}
			return nil
		},
	}
}

// runTests runs the test files concurrently (each file's cases one after
// another) and returns the results in the files' order.
func runTests(ctx context.Context, files []string, opts pipetest.Options) []pipetest.Result {
	results := make([]pipetest.Result, len(files))
	sem := make(chan struct{}, 4)
	done := make(chan struct{})
	for i, f := range files {
		go func() {
			sem <- struct{}{}
			results[i] = pipetest.RunFile(ctx, f, opts)
			<-sem
			done <- struct{}{}
		}()
	}
	for range files {
		<-done
	}
	return results
}
