package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/conveyor-etl/conveyor-wasm/abi"
	"github.com/conveyor-etl/conveyor-wasm/plugins"
)

// pluginTestCommand is `conveyor-wasm plugin test`: the host-side checks of
// the conformance suite (plugins/conformance) that apply to any plugin, not
// only to the conformance guests.
func pluginTestCommand() *cli.Command {
	return &cli.Command{
		Name:  "test",
		Usage: "check a built plugin against the host: it loads, survives empty, binary, large and many records, answers lookups",
		Description: "Loads FILE.wasm with the given config and runs checks through the real host, as a\n" +
			"pipeline would: an empty batch, the sample records (--input, JSON Lines: one payload\n" +
			"per line; built-in samples otherwise), binary and empty payloads, a 1 MiB record, a\n" +
			"batch of 10,000 records, the same batch twice (determinism, a warning only), and for\n" +
			"lookup plugins the --keys. Per-record errors are fine; a failed batch (trap, timeout,\n" +
			"memory, invalid output) fails the check. Exit status 1 when any check fails.",
		ArgsUsage: "FILE.wasm",
		Flags: []cli.Flag{
			configFlag,
			runtimeFlag(),
			&cli.StringFlag{Name: "input", Usage: "JSON Lines `FILE` of sample payloads"},
			&cli.StringFlag{Name: "keys", Usage: "comma-separated lookup `KEYS` to ask"},
			&cli.DurationFlag{Name: "timeout", Value: plugins.DefaultBatchTimeout, Usage: "time limit per batch"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return &exitError{code: 2, err: errors.New("usage: conveyor-wasm plugin test FILE.wasm [--config KEY=VALUE ...]")}
			}
			cfg, err := parseConfig(c)
			if err != nil {
				return err
			}
			samples := defaultSamples()
			if in := c.String("input"); in != "" {
				if samples, err = readSamples(in); err != nil {
					return &exitError{code: 2, err: err}
				}
			}
			var keys [][]byte
			if k := c.String("keys"); k != "" {
				for _, s := range strings.Split(k, ",") {
					keys = append(keys, []byte(s))
				}
			} else {
				keys = [][]byte{[]byte("a"), nil, []byte("\xff")}
			}
			ctx := c.Context
			if ctx == nil {
				ctx = context.Background()
			}
			path := c.Args().First()
			failed := runChecks(ctx, c.App.Writer, plugins.Options{
				Name: pluginName(path), Path: path, Runtime: c.String("runtime"), Config: cfg, Instances: 1,
				Limits: plugins.Limits{BatchTimeout: c.Duration("timeout")}, Logger: pluginLogger(c),
			}, samples, keys)
			if failed > 0 {
				return &exitError{code: 1, err: fmt.Errorf("%s: %d check(s) failed", path, failed)}
			}
			return nil
		},
	}
}

func defaultSamples() []abi.Record {
	return []abi.Record{
		{Key: []byte("k1"), Payload: []byte(`{"id":1,"name":"Ada","email":"ada@example.com"}`)},
		{Key: []byte("k2"), Payload: []byte(`{"id":2,"tags":["a","b"],"nested":{"x":1.5}}`),
			Metadata: []abi.KV{{Key: []byte("type"), Value: []byte("user_event")}}},
		{Payload: []byte(`{}`), EventTime: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano(), HasEventTime: true},
		{Key: []byte("ключ"), Payload: []byte(`{"text":"données ✓ 日本語"}`)},
	}
}

func readSamples(path string) ([]abi.Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var recs []abi.Record
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for sc.Scan() {
		if line := bytes.TrimSpace(sc.Bytes()); len(line) > 0 {
			recs = append(recs, abi.Record{Payload: bytes.Clone(line)})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("%s: no sample records", path)
	}
	return recs, nil
}

// runChecks loads the plugin, runs the checks, prints one line per check and
// returns the number of failures.
func runChecks(ctx context.Context, w io.Writer, o plugins.Options, samples []abi.Record, keys [][]byte) int {
	failed := 0
	report := func(status, name, detail string) {
		if status == "FAIL" {
			failed++
		}
		if detail != "" {
			detail = ": " + detail
		}
		fmt.Fprintf(w, "%-4s %s%s\n", status, name, detail)
	}
	p, err := plugins.Load(ctx, o)
	if err != nil {
		report("FAIL", "load", err.Error())
		return failed
	}
	defer p.Close(context.WithoutCancel(ctx))
	caps := p.Capabilities()
	info := p.Info()
	report("PASS", "load", fmt.Sprintf("%s (transform %v, lookup %v)", info.What, caps.Transform, caps.Lookup))

	batch := func(name string, in []abi.Record) []abi.Output {
		start := time.Now()
		outs, err := p.Process(ctx, in, nil)
		if err != nil {
			report("FAIL", name, err.Error())
			return nil
		}
		var recs, errs int
		for _, o := range outs {
			switch o.Kind {
			case abi.KindRecord:
				recs++
			case abi.KindError:
				errs++
			}
		}
		report("PASS", name, fmt.Sprintf("%d in, %d out, %d per-record errors, %s",
			len(in), recs, errs, time.Since(start).Round(time.Microsecond)))
		return outs
	}
	if caps.Transform {
		batch("empty batch", nil)
		first := batch("sample batch", samples)
		all := make([]byte, 256)
		for i := range all {
			all[i] = byte(i)
		}
		batch("binary and empty payloads", []abi.Record{{Payload: all}, {Payload: nil}, {Key: []byte{0}, Payload: []byte("\xff\xfe")}})
		batch("1 MiB record", []abi.Record{{Key: []byte("big"), Payload: append(append([]byte(`{"blob":"`), bytes.Repeat([]byte("x"), 1<<20)...), `"}`...)}})
		many := make([]abi.Record, 10000)
		for i := range many {
			many[i] = samples[i%len(samples)]
		}
		batch("10,000 records", many)
		if first != nil {
			if again, err := p.Process(ctx, samples, nil); err == nil {
				if show := fmt.Sprint(outputsText(first)); show != fmt.Sprint(outputsText(again)) {
					report("WARN", "deterministic", "the same batch gave different outputs (a clock or random source?)")
				} else {
					report("PASS", "deterministic", "")
				}
			}
		}
	}
	if caps.Lookup {
		res, err := p.Lookup(ctx, keys, nil)
		if err != nil {
			report("FAIL", "lookup", err.Error())
		} else {
			hits := 0
			for _, r := range res {
				if r.Found {
					hits++
				}
			}
			report("PASS", "lookup", fmt.Sprintf("%d keys, %d hits", len(keys), hits))
		}
		if res, err := p.Lookup(ctx, nil, nil); err != nil || len(res) != 0 {
			report("FAIL", "empty lookup", fmt.Sprint(err))
		}
	}
	s := p.Stats()
	if len(s.Faults) > 0 {
		report("FAIL", "faults", fmt.Sprint(s.Faults))
	}
	if s.LogLinesSuppressed > 0 {
		report("WARN", "logging", fmt.Sprintf("%d log lines over the rate limit", s.LogLinesSuppressed))
	}
	writeCounters(w, s)
	return failed
}

// outputsText renders outputs for the determinism check.
func outputsText(outs []abi.Output) []string {
	var s []string
	for _, o := range outs {
		s = append(s, fmt.Sprintf("%d %d %q %q %v %d %q", o.Kind, o.Input, o.Record.Key, o.Record.Payload, o.Record.Metadata, o.Record.EventTime, o.Err))
	}
	return s
}
