package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"
	"github.com/valyala/fastjson"

	"github.com/conveyor-etl/conveyor-wasm/abi"
	"github.com/conveyor-etl/conveyor-wasm/plugins"
)

// pluginCommand is `conveyor-wasm plugin`: inspect a plugin module, run it
// as a filter over JSON Lines, check it, or start a new plugin project.
func pluginCommand() *cli.Command {
	return &cli.Command{
		Name:  "plugin",
		Usage: "inspect, try out, check or create a WebAssembly plugin",
		Subcommands: []*cli.Command{
			pluginInspectCommand(),
			pluginRunCommand(),
			pluginTestCommand(),
			pluginNewCommand(),
		},
	}
}

// configFlag is the repeatable --config KEY=VALUE flag.
var configFlag = &cli.StringSliceFlag{Name: "config", Usage: "plugin config entry `KEY=VALUE` (repeatable)"}

// runtimeFlag is --runtime.
func runtimeFlag() *cli.StringFlag {
	return &cli.StringFlag{Name: "runtime", Usage: "WebAssembly `RUNTIME`: " + strings.Join(plugins.Runtimes(), ", "),
		Value: plugins.DefaultRuntime}
}

// parseConfig reads the --config flags.
func parseConfig(c *cli.Context) (map[string]string, error) {
	cfg := map[string]string{}
	for _, kv := range c.StringSlice("config") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, &exitError{code: 2, err: fmt.Errorf("--config %q: want KEY=VALUE", kv)}
		}
		cfg[k] = v
	}
	return cfg, nil
}

// pluginName is the default plugin name for a path: its base name without
// .wasm.
func pluginName(path string) string {
	return strings.TrimSuffix(filepath.Base(path), ".wasm")
}

func pluginInspectCommand() *cli.Command {
	return &cli.Command{
		Name:      "inspect",
		Usage:     "say what a .wasm file is, what it imports and exports, and whether it loads as a plugin with the given config",
		ArgsUsage: "FILE.wasm",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print the description as JSON"},
			configFlag,
			runtimeFlag(),
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return &exitError{code: 2, err: fmt.Errorf("usage: conveyor-wasm plugin inspect FILE.wasm")}
			}
			path := c.Args().First()
			cfg, err := parseConfig(c)
			if err != nil {
				return err
			}
			wasm, err := os.ReadFile(path)
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			ctx := c.Context
			if ctx == nil {
				ctx = context.Background()
			}
			info, err := plugins.InspectWith(ctx, wasm, plugins.InspectOptions{
				Name: pluginName(path), Runtime: c.String("runtime"), Config: cfg})
			if err != nil {
				return &exitError{code: 1, err: fmt.Errorf("%s: %w", path, err)}
			}
			if c.Bool("json") {
				enc := json.NewEncoder(c.App.Writer)
				enc.SetIndent("", "  ")
				if err := enc.Encode(info); err != nil {
					return err
				}
			} else {
				writeInfo(c.App.Writer, path, info)
			}
			if !info.Loadable {
				return &exitError{code: 1, err: fmt.Errorf("%s: does not load as a plugin", path)}
			}
			return nil
		},
	}
}

// writeInfo prints an Info for people.
func writeInfo(w io.Writer, path string, info plugins.Info) {
	abiVersion := info.ABI
	if abiVersion == "" {
		abiVersion = "unknown"
	}
	loads := "yes"
	if !info.Loadable {
		loads = "no"
	}
	maxPages := "none"
	if info.MemoryMaxPages > 0 {
		maxPages = fmt.Sprint(info.MemoryMaxPages)
	}
	fmt.Fprintf(w, "file:     %s (%d bytes)\n", path, info.Size)
	fmt.Fprintf(w, "what:     %s\n", info.What)
	fmt.Fprintf(w, "abi:      %s (host %s)\n", abiVersion, abi.FormatVersion(abi.Version))
	fmt.Fprintf(w, "runtime:  %s\n", info.Runtime)
	fmt.Fprintf(w, "memory:   min %d pages, max %s\n", info.MemoryMinPages, maxPages)
	var kinds []string
	if info.Transform {
		kinds = append(kinds, "transform")
	}
	if info.Lookup {
		kinds = append(kinds, "lookup")
	}
	if len(kinds) > 0 {
		fmt.Fprintf(w, "serves:   %s\n", strings.Join(kinds, ", "))
	}
	if info.Init != "" {
		fmt.Fprintf(w, "init:     %s\n", info.Init)
	}
	fmt.Fprintf(w, "loads:    %s\n", loads)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "exports:\n")
	for _, e := range info.Exports {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", e.Name, e.Kind, e.Signature)
	}
	fmt.Fprintf(tw, "imports:\n")
	for _, imp := range info.Imports {
		verdict := "ok"
		if !imp.Allowed {
			verdict = "REFUSED: " + imp.Reason
		}
		fmt.Fprintf(tw, "  %s.%s\t%s\t%s\t%s\n", imp.Module, imp.Name, imp.Kind, imp.Signature, verdict)
	}
	tw.Flush()
	if len(info.Problems) > 0 {
		fmt.Fprintf(w, "problems:\n")
		for _, p := range info.Problems {
			fmt.Fprintf(w, "  - %s\n", p)
		}
	}
}

func pluginRunCommand() *cli.Command {
	return &cli.Command{
		Name:  "run",
		Usage: "run a plugin over JSON Lines: stdin lines are payloads, outputs go to stdout, per-record errors to stderr",
		Description: "Each non-empty stdin line is one record's payload. Outputs of kind record are written\n" +
			"to stdout as their payload (or, with --envelope, as a JSON object with key, payload,\n" +
			"metadata and event time), one per line. Per-record errors go to stderr with the input\n" +
			"line number; a failed batch stops the run with exit status 1.",
		ArgsUsage: "FILE.wasm",
		Flags: []cli.Flag{
			configFlag,
			runtimeFlag(),
			&cli.StringFlag{Name: "key-field", Usage: "top-level JSON `FIELD` of each line to use as the record key"},
			&cli.IntFlag{Name: "batch", Value: 256, Usage: "records per batch"},
			&cli.BoolFlag{Name: "envelope", Usage: "write outputs as {key, payload, metadata, event_time} objects"},
			&cli.UintFlag{Name: "memory-pages", Usage: fmt.Sprintf("memory limit in 64 KiB pages (default %d, as in pipelines)", plugins.DefaultMemoryPages)},
			&cli.DurationFlag{Name: "timeout", Usage: "time limit per batch (default 10s; negative: none)"},
		},
		Action: runPlugin,
	}
}

func runPlugin(c *cli.Context) error {
	if c.NArg() != 1 {
		return &exitError{code: 2, err: fmt.Errorf("usage: conveyor-wasm plugin run FILE.wasm [--config KEY=VALUE ...]")}
	}
	cfg, err := parseConfig(c)
	if err != nil {
		return err
	}
	batch := c.Int("batch")
	if batch <= 0 {
		return &exitError{code: 2, err: fmt.Errorf("--batch %d: must be positive", batch)}
	}
	ctx := c.Context
	if ctx == nil {
		ctx = context.Background()
	}
	p, err := plugins.Load(ctx, plugins.Options{
		Path:      c.Args().First(),
		Runtime:   c.String("runtime"),
		Config:    cfg,
		Instances: 1,
		Limits:    plugins.Limits{MemoryPages: uint32(c.Uint("memory-pages")), BatchTimeout: c.Duration("timeout")},
		Logger:    pluginLogger(c),
	})
	if err != nil {
		return &exitError{code: 1, err: err}
	}
	defer p.Close(context.WithoutCancel(ctx))

	r := &jsonlRunner{
		p: p, keyField: c.String("key-field"), envelope: c.Bool("envelope"),
		out: bufio.NewWriter(c.App.Writer), errw: c.App.ErrWriter,
	}
	sc := bufio.NewScanner(c.App.Reader)
	sc.Buffer(make([]byte, 64*1024), 64*1024*1024)
	line := 0
	for sc.Scan() {
		line++
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		if err := r.add(ctx, line, text, batch); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return &exitError{code: 1, err: fmt.Errorf("read stdin: %w", err)}
	}
	if err := r.flush(ctx); err != nil {
		return err
	}
	writeCounters(c.App.ErrWriter, p.Stats())
	return nil
}

// writeCounters prints the guest's counters (metric_add_v1) and the log
// lines the rate limit suppressed, if any, on one line.
func writeCounters(w io.Writer, s plugins.Stats) {
	if len(s.Metrics) == 0 && s.LogLinesSuppressed == 0 {
		return
	}
	names := make([]string, 0, len(s.Metrics))
	for k := range s.Metrics {
		names = append(names, k)
	}
	slices.Sort(names)
	var parts []string
	for _, k := range names {
		parts = append(parts, fmt.Sprintf("%s=%d", k, s.Metrics[k]))
	}
	if s.LogLinesSuppressed > 0 {
		parts = append(parts, fmt.Sprintf("(log lines suppressed: %d)", s.LogLinesSuppressed))
	}
	fmt.Fprintf(w, "plugin counters: %s\n", strings.Join(parts, " "))
}

// pluginLogger logs to the app's error stream at the app's --log-level
// (warn when the app has none).
func pluginLogger(c *cli.Context) *slog.Logger {
	level := slog.LevelWarn
	if s := c.String("log-level"); s != "" {
		_ = level.UnmarshalText([]byte(s))
	}
	return slog.New(slog.NewTextHandler(c.App.ErrWriter, &slog.HandlerOptions{Level: level}))
}

// jsonlRunner batches JSON Lines records through a plugin.
type jsonlRunner struct {
	p        *plugins.Plugin
	keyField string
	envelope bool
	out      *bufio.Writer
	errw     io.Writer

	recs   []abi.Record
	lines  []int
	batch  plugins.Batch // outputs are written out before the next batch
	parser fastjson.Parser
}

func (r *jsonlRunner) add(ctx context.Context, line int, payload []byte, batch int) error {
	rec := abi.Record{Payload: append([]byte(nil), payload...)}
	if r.keyField != "" {
		v, err := r.parser.ParseBytes(payload)
		if err != nil {
			fmt.Fprintf(r.errw, "line %d: not JSON, no key: %v\n", line, err)
		} else if f := v.Get(r.keyField); f != nil {
			if s, err := f.StringBytes(); err == nil {
				rec.Key = append([]byte(nil), s...)
			} else {
				rec.Key = f.MarshalTo(nil)
			}
		}
	}
	r.recs = append(r.recs, rec)
	r.lines = append(r.lines, line)
	if len(r.recs) >= batch {
		return r.flush(ctx)
	}
	return nil
}

func (r *jsonlRunner) flush(ctx context.Context) error {
	defer r.out.Flush()
	if len(r.recs) == 0 {
		return nil
	}
	if err := r.p.ProcessBatch(ctx, r.recs, &r.batch); err != nil {
		return &exitError{code: 1, err: fmt.Errorf("lines %d-%d: %w", r.lines[0], r.lines[len(r.lines)-1], err)}
	}
	for _, o := range r.batch.Outputs {
		switch o.Kind {
		case abi.KindRecord:
			if r.envelope {
				writeEnvelope(r.out, &o.Record)
			} else {
				r.out.Write(o.Record.Payload)
				r.out.WriteByte('\n')
			}
		case abi.KindError:
			fmt.Fprintf(r.errw, "line %d: error: %s\n", r.lines[o.Input], o.Err)
		}
	}
	r.recs, r.lines = r.recs[:0], r.lines[:0]
	return nil
}

// envelope is the --envelope output of one record.
type envelope struct {
	Key       string            `json:"key,omitempty"`
	Payload   json.RawMessage   `json:"payload"`
	Metadata  map[string]string `json:"metadata,omitempty"`
	EventTime string            `json:"event_time,omitempty"`
}

func writeEnvelope(w io.Writer, rec *abi.Record) {
	e := envelope{Key: string(rec.Key), Payload: rec.Payload}
	if !json.Valid(rec.Payload) {
		e.Payload, _ = json.Marshal(string(rec.Payload))
	}
	for _, kv := range rec.Metadata {
		if e.Metadata == nil {
			e.Metadata = map[string]string{}
		}
		e.Metadata[string(kv.Key)] = string(kv.Value)
	}
	if rec.HasEventTime {
		e.EventTime = time.Unix(0, rec.EventTime).UTC().Format(time.RFC3339Nano)
	}
	b, _ := json.Marshal(e)
	w.Write(append(b, '\n'))
}
