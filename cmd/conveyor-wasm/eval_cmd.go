package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/conveyor-etl/conveyor-wasm/conditions"
	"github.com/conveyor-etl/conveyor-wasm/engine/record"
	"github.com/urfave/cli/v2"
)

// evalCommand is the CEL playground: an expression evaluated against
// records, with the variables and functions of pipeline conditions.
func evalCommand() *cli.Command {
	return &cli.Command{
		Name:  "eval",
		Usage: "evaluate a CEL expression (the variables and functions of pipeline conditions) against records and print each value as JSON, or the error",
		Description: `Records come from --input (JSON lines, one payload per line; - for standard input;
with --envelope, lines of {"key", "payload", "metadata", "event_time", "source"}),
or one record: --payload (default {}). --key, --metadata and --event-time set the
other fields of every record that is not an envelope.

  conveyor-wasm eval 'record.payload.price * record.payload.qty' --payload '{"price": 2.5, "qty": 4}'
  conveyor-wasm eval 'record.payload.user_id.startsWith("u0")' --input data/users.jsonl

Exit status: 0 when every record evaluated, 1 when the expression does not
compile or some record's evaluation failed, 2 on a usage error.`,
		ArgsUsage: "EXPR",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "input", Aliases: []string{"i"}, Usage: "JSON lines file of records (- for standard input)"},
			&cli.BoolFlag{Name: "envelope", Usage: "input lines are envelopes {key, payload, metadata, event_time, source}"},
			&cli.StringFlag{Name: "payload", Usage: "the payload of the one record evaluated without --input", Value: "{}"},
			&cli.StringFlag{Name: "key", Usage: "record.key"},
			&cli.StringSliceFlag{Name: "metadata", Aliases: []string{"m"}, Usage: "record.metadata entry k=v (repeatable)"},
			&cli.StringFlag{Name: "event-time", Usage: "record.event_time, RFC 3339"},
			&cli.StringFlag{Name: "source", Usage: "record.source"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return &exitError{code: 2, err: errors.New("usage: conveyor-wasm eval EXPR [--input FILE]")}
			}
			env, err := conditions.NewEnv()
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			prg, err := env.CompileJSON(c.Args().First(), conditions.Source{})
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			base := record.New(c.String("key"), nil)
			base.Source = c.String("source")
			for _, kv := range c.StringSlice("metadata") {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					return &exitError{code: 2, err: fmt.Errorf("--metadata %q: want k=v", kv)}
				}
				base.Metadata.Set(k, v)
			}
			if s := c.String("event-time"); s != "" {
				t, err := time.Parse(time.RFC3339Nano, s)
				if err != nil {
					return &exitError{code: 2, err: fmt.Errorf("--event-time: %w", err)}
				}
				base.SetTime(t)
			}
			w := c.App.Writer
			in := c.String("input")
			if in == "" {
				rec := *base
				rec.SetPayload([]byte(c.String("payload")))
				if !printValue(w, prg, &rec, "") {
					return &exitError{code: 1, err: errors.New("")}
				}
				return nil
			}
			var r io.Reader = envOf(c).stdin
			if in != "-" {
				f, err := os.Open(in)
				if err != nil {
					return &exitError{code: 2, err: fmt.Errorf("--input: %w", err)}
				}
				defer f.Close()
				r = f
			}
			failed := 0
			sc := bufio.NewScanner(r)
			sc.Buffer(nil, 64<<20)
			for line := 1; sc.Scan(); line++ {
				text := sc.Bytes()
				if len(strings.TrimSpace(string(text))) == 0 {
					continue
				}
				prefix := fmt.Sprintf("%d: ", line)
				rec := *base
				rec.Metadata = append(record.Metadata(nil), base.Metadata...)
				if c.Bool("envelope") {
					if err := fromEnvelope(&rec, text); err != nil {
						fmt.Fprintf(w, "%serror: %v\n", prefix, err)
						failed++
						continue
					}
				} else {
					rec.SetPayload(append([]byte(nil), text...))
				}
				if !printValue(w, prg, &rec, prefix) {
					failed++
				}
			}
			if err := sc.Err(); err != nil {
				return &exitError{code: 2, err: fmt.Errorf("--input: %w", err)}
			}
			if failed > 0 {
				return &exitError{code: 1, err: fmt.Errorf("%d records failed", failed)}
			}
			return nil
		},
	}
}

// printValue prints the expression's value for rec as JSON, or its error;
// it reports whether the evaluation succeeded.
func printValue(w io.Writer, prg *conditions.ValueProgram, rec *record.Record, prefix string) bool {
	b, err := prg.EvalJSON(rec, nil)
	rec.Release()
	if err != nil {
		// The expression is on the command line: print the cause alone.
		var ee *conditions.EvalError
		if errors.As(err, &ee) {
			err = ee.Err
		}
		fmt.Fprintf(w, "%serror: %v\n", prefix, err)
		return false
	}
	fmt.Fprintf(w, "%s%s\n", prefix, b)
	return true
}

// fromEnvelope fills rec from an envelope line, as the file sink writes
// them with format: envelope.
func fromEnvelope(rec *record.Record, line []byte) error {
	var env struct {
		Key       *string           `json:"key"`
		Payload   json.RawMessage   `json:"payload"`
		Metadata  map[string]string `json:"metadata"`
		EventTime string            `json:"event_time"`
		Source    *string           `json:"source"`
	}
	if err := json.Unmarshal(line, &env); err != nil {
		return fmt.Errorf("envelope: %w", err)
	}
	if env.Key != nil {
		rec.Key = *env.Key
	}
	if env.Source != nil {
		rec.Source = *env.Source
	}
	for k, v := range env.Metadata {
		rec.Metadata.Set(k, v)
	}
	if env.EventTime != "" {
		t, err := time.Parse(time.RFC3339Nano, env.EventTime)
		if err != nil {
			return fmt.Errorf("envelope: event_time: %w", err)
		}
		rec.SetTime(t)
	}
	// A string payload is the payload's text; anything else is JSON.
	var s string
	if json.Unmarshal(env.Payload, &s) == nil {
		rec.SetPayload([]byte(s))
	} else {
		rec.SetPayload(append([]byte(nil), env.Payload...))
	}
	return nil
}
