package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/conveyor-etl/conveyor-wasm/abi"
	"github.com/conveyor-etl/conveyor-wasm/cmd/conveyor-wasm/internal/httpserver"
	"github.com/conveyor-etl/conveyor-wasm/cmd/conveyor-wasm/internal/pipetest"
	"github.com/conveyor-etl/conveyor-wasm/cmd/conveyor-wasm/internal/report"
	"github.com/conveyor-etl/conveyor-wasm/engine"
	"github.com/conveyor-etl/conveyor-wasm/engine/metrics"
	"github.com/urfave/cli/v2"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// exitError carries an exit code through urfave/cli.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// doMain runs the CLI with the given arguments and streams and returns the
// process exit code; main stays a one-liner so tests drive the CLI
// in-process.
func doMain(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	app := newApp(stdin, stdout, stderr)
	if !completing(args) {
		args = flagsFirst(app, args)
	}
	err := app.Run(args)
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil && ee.err.Error() != "" {
			fmt.Fprintln(app.ErrWriter, ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(app.ErrWriter, "error:", err)
	return 1
}

// flagsFirst lets flags follow positional arguments, as users type them
// (`plugin run x.wasm --config k=v`): urfave/cli v2 stops parsing flags at
// the first positional argument, so the arguments after the command path
// are reordered, flags (with their values) first. A "--" ends the
// reordering.
func flagsFirst(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	out := []string{args[0]}
	rest := args[1:]
	// Global flags, then the command path.
	cmds := app.Commands
	var cmd *cli.Command
	for len(rest) > 0 {
		a := rest[0]
		if strings.HasPrefix(a, "-") && cmd == nil {
			out = append(out, a)
			rest = rest[1:]
			if !strings.Contains(a, "=") && takesValue(app.Flags, a) && len(rest) > 0 {
				out, rest = append(out, rest[0]), rest[1:]
			}
			continue
		}
		var next *cli.Command
		for _, c := range cmds {
			if c.Name == a || slices.Contains(c.Aliases, a) {
				next = c
			}
		}
		if next == nil {
			break
		}
		cmd, cmds = next, next.Subcommands
		out = append(out, a)
		rest = rest[1:]
	}
	if cmd == nil {
		return args
	}
	var flags, positional []string
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		if a == "--" {
			positional = append(positional, rest[i:]...)
			break
		}
		if strings.HasPrefix(a, "-") && a != "-" {
			flags = append(flags, a)
			if !strings.Contains(a, "=") && takesValue(cmd.Flags, a) && i+1 < len(rest) {
				i++
				flags = append(flags, rest[i])
			}
			continue
		}
		positional = append(positional, a)
	}
	return append(append(out, flags...), positional...)
}

// takesValue reports whether the flag named by arg ("--name" or "-n")
// takes a value (every flag but a boolean one).
func takesValue(flags []cli.Flag, arg string) bool {
	name := strings.TrimLeft(arg, "-")
	for _, f := range flags {
		if slices.Contains(f.Names(), name) {
			_, isBool := f.(*cli.BoolFlag)
			return !isBool
		}
	}
	return false
}

// appEnv is what commands share: streams and the logger.
type appEnv struct {
	stdin  io.Reader
	stdout io.Writer
	// stderr is shared by the logger, progress lines, the summary and the
	// default dead-letter output: goroutine-safe, whole lines at a time.
	stderr *syncWriter
	log    *slog.Logger
	// signals is the context cancelled by SIGINT/SIGTERM; tests replace it.
	signals func(context.Context) (context.Context, context.CancelFunc)
}

func envOf(c *cli.Context) *appEnv { return c.App.Metadata["env"].(*appEnv) }

// notifySignals returns a context cancelled, with the signal as its
// cause, by the first SIGINT or SIGTERM; after it the default handling is
// restored, so that a second signal kills the process at once.
func notifySignals(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case sig := <-ch:
			signal.Reset(os.Interrupt, syscall.SIGTERM)
			cancel(&signalError{sig: sig})
		case <-ctx.Done():
		}
		signal.Stop(ch)
	}()
	return ctx, func() { cancel(nil) }
}

// signalError is the cause of a run stopped by a signal.
type signalError struct{ sig os.Signal }

func (e *signalError) Error() string { return "interrupted by " + e.sig.String() }

// Exit codes of `run` (documented in README.md).
const (
	exitOK          = 0
	exitInvalid     = 1   // the pipeline is invalid (or a usage error: 2 for flags)
	exitFailed      = 2   // the run failed, or could not start
	exitInterrupted = 130 // stopped by SIGINT (or a cancelled context)
	exitTerminated  = 143 // stopped by SIGTERM
)

// interruptCode is the exit code of a run stopped by ctx's signal.
func interruptCode(ctx context.Context) int {
	var se *signalError
	if errors.As(context.Cause(ctx), &se) && se.sig == syscall.SIGTERM {
		return exitTerminated
	}
	return exitInterrupted
}

// defaultStateDir is where checkpoints live unless --state-dir says
// otherwise: $XDG_STATE_HOME/conveyor-wasm, or ~/.local/state/conveyor-wasm.
func defaultStateDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "conveyor-wasm")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "state", "conveyor-wasm")
	}
	return ""
}

func newApp(stdin io.Reader, stdout, stderr io.Writer) *cli.App {
	errw := newSyncWriter(stderr)
	env := &appEnv{stdin: stdin, stdout: stdout, stderr: errw,
		signals: notifySignals}
	return &cli.App{
		Name:      "conveyor-wasm",
		Usage:     "route ETL and streaming pipelines, with event time and WebAssembly plugins",
		Version:   versionString(),
		Reader:    stdin,
		Writer:    stdout,
		ErrWriter: errw,
		Metadata:  map[string]any{"env": env},
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "log-level", Value: "info", Usage: "debug, info, warn or error"},
			&cli.StringFlag{Name: "log-format", Value: "text", Usage: "text or json"},
		},
		Before: func(c *cli.Context) error {
			l, err := newLogger(errw, c.String("log-level"), c.String("log-format"))
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			env.log = l
			return nil
		},
		ExitErrHandler:       func(*cli.Context, error) {},
		HideHelpCommand:      true,
		EnableBashCompletion: true, // completion bash|zsh|fish
		Commands: []*cli.Command{
			runCommand(),
			validateCommand(),
			graphCommand(),
			docsCommand(),
			pluginCommand(),
			testCommand(),
			evalCommand(),
			completionCommand(),
			initCommand(),
			versionCommand(),
		},
	}
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format: unknown format %q (want text or json)", format)
}

func versionString() string {
	v := version
	if bi, ok := debug.ReadBuildInfo(); ok && v == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v = bi.Main.Version
	}
	return fmt.Sprintf("%s (abi v%d.%d, %s)", v, abi.Major, abi.Minor, runtime.Version())
}

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the version, the plugin ABI version and the Go version",
		Action: func(c *cli.Context) error {
			fmt.Fprintf(c.App.Writer, "conveyor-wasm %s\n", versionString())
			return nil
		},
	}
}

// loadArg loads the pipeline named by the command's one argument: a usage
// error exits 2, a broken pipeline 1.
func loadArg(c *cli.Context) (*engine.Plan, string, error) {
	if c.NArg() != 1 {
		return nil, "", &exitError{code: 2, err: fmt.Errorf("usage: conveyor-wasm %s PIPELINE", c.Command.Name)}
	}
	path := c.Args().First()
	o, err := parseOptions(c)
	if err != nil {
		return nil, path, &exitError{code: 1, err: err}
	}
	p, err := engine.LoadWith(path, o)
	if err != nil {
		return nil, path, &exitError{code: 1, err: err}
	}
	return p, path, nil
}

func validateCommand() *cli.Command {
	return &cli.Command{
		Name:      "validate",
		Usage:     "check a pipeline file and what a run would meet (input files, output and state directories, lookup tables, plugins), and report every problem with its position; nothing is created or written",
		ArgsUsage: "PIPELINE",
		Flags: append([]cli.Flag{
			&cli.BoolFlag{Name: "static", Usage: "check the file only, not the environment"},
			&cli.StringFlag{Name: "state-dir", Value: defaultStateDir(), Usage: "the state directory a run would use, checked for being writable or creatable; 'none' skips it"},
		}, pipelineFlags()...),
		Action: func(c *cli.Context) error {
			p, path, err := loadArg(c)
			if err != nil {
				return err
			}
			if !c.Bool("static") {
				var o engine.CheckOptions
				if dir := c.String("state-dir"); dir != "none" {
					o.StateDir = dir
				}
				if err := p.CheckEnvironment(c.Context, o); err != nil {
					return &exitError{code: 1, err: err}
				}
			}
			fmt.Fprintf(c.App.Writer, "%s: ok (%d sources, %d stages, %d edges)\n", path, len(p.Pipeline().Sources), len(p.Pipeline().Stages), len(p.Pipeline().Edges))
			return nil
		},
	}
}

func graphCommand() *cli.Command {
	return &cli.Command{
		Name:      "graph",
		Usage:     "draw the pipeline DAG (sources, stages, services, the dead-letter sink) as Graphviz DOT or Mermaid, or as SVG/PNG through Graphviz",
		ArgsUsage: "PIPELINE",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "format", Value: "dot", Usage: "dot, mermaid, or svg or png (rendered by Graphviz's dot, which must be on PATH)"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write to this file instead of stdout"},
		}, pipelineFlags()...),
		Action: func(c *cli.Context) error {
			p, _, err := loadArg(c)
			if err != nil {
				return err
			}
			format := c.String("format")
			var b bytes.Buffer
			switch format {
			case "svg", "png":
				if err := renderGraph(c.Context, p, format, &b); err != nil {
					return &exitError{code: 1, err: err}
				}
			default:
				if err := p.WriteGraph(&b, engine.GraphFormat(format)); err != nil {
					return &exitError{code: 2, err: fmt.Errorf("%w, or svg or png", err)}
				}
			}
			if path := c.String("output"); path != "" {
				if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
					return &exitError{code: 1, err: fmt.Errorf("--output: %w", err)}
				}
				return nil
			}
			_, err = c.App.Writer.Write(b.Bytes())
			return err
		},
	}
}

// renderGraph renders the plan's DOT with Graphviz's dot into w.
func renderGraph(ctx context.Context, p *engine.Plan, format string, w io.Writer) error {
	dot, err := exec.LookPath("dot")
	if err != nil {
		return fmt.Errorf("graph --format %s needs Graphviz's dot on PATH (apt-get install graphviz, brew install graphviz); --format dot prints the DOT source to render elsewhere", format)
	}
	var src, errb bytes.Buffer
	if err := p.WriteGraph(&src, engine.GraphDOT); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, dot, "-T"+format)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = &src, w, &errb
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("dot -T%s: %w: %s", format, err, strings.TrimSpace(errb.String()))
	}
	return nil
}

func runCommand() *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "run a pipeline until its sources are exhausted (or SIGINT/SIGTERM: then drain and stop; SIGHUP: reload it)",
		ArgsUsage: "PIPELINE",
		Flags: append([]cli.Flag{
			&cli.DurationFlag{Name: "progress", Value: time.Second, Usage: "interval of the progress line on stderr (0 disables it); JSON records with --log-format json"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress lines and no summary (warnings and errors still print)"},
			&cli.StringFlag{Name: "http", Usage: "serve /metrics (Prometheus), /healthz, /readyz and the live DAG page on this address (e.g. :8080, 127.0.0.1:0)"},
			&cli.BoolFlag{Name: "pprof", Usage: "with --http: also serve net/http/pprof under /debug/pprof/"},
			&cli.DurationFlag{Name: "drain-timeout", Value: 30 * time.Second, Usage: "how long in-flight records may take to drain on stop"},
			&cli.StringFlag{Name: "plugin-cache", Usage: "directory for compiled Wasm modules (default: the user cache dir)"},
			&cli.StringFlag{Name: "cpuprofile", Usage: "write a CPU profile of the run to this file (go tool pprof)"},
			&cli.StringFlag{Name: "state-dir", Value: defaultStateDir(), Usage: "where sources keep checkpoints, so that an interrupted run (crash, kill -9, signal) resumes after the last acknowledged record; 'none' disables checkpoints"},
			&cli.BoolFlag{Name: "from-start", Usage: "ignore (and clear) the pipeline's checkpoints: read every source from its start"},
			&cli.BoolFlag{Name: "watch", Usage: "reload the pipeline when its file changes, as on SIGHUP: an invalid file is reported and ignored; a valid one drains the run and starts the new plan from the checkpoints"},
		}, pipelineFlags()...),
		Action: func(c *cli.Context) error {
			p, path, err := loadArg(c)
			if err != nil {
				return err
			}
			env := envOf(c)
			// Progress and summary are log records in JSON mode, lines
			// otherwise; they print at every log level (--quiet hides them).
			out := &runOutput{w: env.stderr}
			if c.String("log-format") == "json" {
				out.json = slog.New(slog.NewJSONHandler(env.stderr, nil))
			}
			quiet := c.Bool("quiet")
			var m *metrics.Metrics
			var srv *httpserver.Server
			if addr := c.String("http"); addr != "" {
				// The server starts before the runner, so that probes
				// answer while plugins load.
				m = metrics.New(p)
				if srv, err = httpserver.Start(httpserver.Config{Addr: addr, Plan: p, Metrics: m, Pprof: c.Bool("pprof"), Logger: env.log}); err != nil {
					return &exitError{code: 1, err: err}
				}
				defer func() {
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					defer cancel()
					_ = srv.Close(ctx)
				}()
				env.log.Info("http server listening", "url", "http://"+srv.Addr()+"/")
			} else if c.Bool("pprof") {
				return &exitError{code: 2, err: errors.New("--pprof needs --http ADDR")}
			}
			// Dead letters come from a buffered sink that flushes
			// anywhere in a line: they get a handle that writes whole
			// lines.
			deadLetters := env.stderr.lines()
			defer deadLetters.Flush()
			opts := engine.RunOptions{
				Logger:         env.log,
				Stdin:          env.stdin,
				Stdout:         env.stdout,
				DeadLetterOut:  deadLetters,
				DrainTimeout:   c.Duration("drain-timeout"),
				PluginCacheDir: c.String("plugin-cache"),
				FromStart:      c.Bool("from-start"),
			}
			if dir := c.String("state-dir"); dir != "none" {
				opts.StateDir = dir
			}
			if m != nil {
				opts.Observer = m
			}
			r, err := engine.NewRunner(p, opts)
			if err != nil {
				return &exitError{code: exitFailed, err: err}
			}
			if srv != nil {
				srv.SetRunner(r)
			}
			ctx, stop := env.signals(c.Context)
			defer stop()
			env.log.Debug("running: SIGINT/SIGTERM drain and stop, a second signal kills", "pipeline", p.ID())
			if path := c.String("cpuprofile"); path != "" {
				f, err := os.Create(path)
				if err != nil {
					return &exitError{code: 1, err: fmt.Errorf("--cpuprofile: %w", err)}
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return &exitError{code: 1, err: fmt.Errorf("--cpuprofile: %w", err)}
				}
				defer pprof.StopCPUProfile()
			}
			// Runs r, and on reloads (SIGHUP, --watch) the new plans;
			// prints each run's progress and summary.
			// Reloads read the file with the same --set and --env-file.
			parse, _ := parseOptions(c)
			loop := &runLoop{path: path, parse: parse, opts: opts, watch: c.Bool("watch"), log: env.log, out: out, quiet: quiet,
				progress: c.Duration("progress"), srv: srv, flush: deadLetters.Flush}
			sum, err := loop.run(ctx, r)
			switch {
			case err != nil:
				return &exitError{code: exitFailed, err: fmt.Errorf("run failed: %w", err)}
			case sum.Stopped:
				msg := "interrupted: the sources were stopped before their end"
				if n := sum.Unprocessed + sum.InFlight; n > 0 {
					msg += fmt.Sprintf("; %d records read were not processed (not acknowledged: a source with checkpoints reads them again)", n)
				}
				return &exitError{code: interruptCode(ctx), err: errors.New(msg)}
			case sum.Unprocessed > 0 || sum.InFlight > 0:
				// Balanced books are not enough: records the run did not
				// handle were written nowhere.
				return &exitError{code: exitFailed, err: fmt.Errorf("%d records were not processed (not acknowledged: a source with checkpoints reads them again)", sum.Unprocessed+sum.InFlight)}
			}
			return nil
		},
	}
}

// runOutput writes progress and the summary: text lines on w, or JSON
// log records when json is set.
type runOutput struct {
	w    io.Writer
	json *slog.Logger
}

// startProgress prints progress every interval until the returned
// function is called; it returns once the last line is written.
func startProgress(out *runOutput, r *engine.Runner, every time.Duration) (stop func()) {
	done, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		progress(out, r, every, done)
	}()
	return func() {
		close(done)
		<-exited
	}
}

// progress prints a line every interval: rates since the last line and
// totals, for runs that last longer than one interval.
func progress(out *runOutput, r *engine.Runner, every time.Duration, done <-chan struct{}) {
	t := time.NewTicker(every)
	defer t.Stop()
	var last engine.Summary
	lastAt := time.Now()
	for {
		select {
		case <-done:
			return
		case now := <-t.C:
			s := r.Summary()
			dt := now.Sub(lastAt).Seconds()
			inRate, outRate := float64(s.In-last.In)/dt, float64(s.Delivered-last.Delivered)/dt
			if out.json != nil {
				attrs := []any{"in", s.In, "in_per_second", round1(inRate), "delivered", s.Delivered, "delivered_per_second", round1(outRate),
					"filtered", s.Filtered, "dropped", s.Dropped, "dead_lettered", s.DeadLettered, "late", s.Late, "in_flight", s.InFlight}
				attrs = append(attrs, watermarkAttrs(s, now)...)
				out.json.Info("progress", attrs...)
			} else {
				fmt.Fprintf(out.w, "progress: in %d (%.0f/s) out %d (%.0f/s) filtered %d dropped %d dead-lettered %d late %d in-flight %d%s\n",
					s.In, inRate, s.Delivered, outRate, s.Filtered, s.Dropped, s.DeadLettered, s.Late, s.InFlight, watermarkText(s, now))
			}
			last, lastAt = s, now
		}
	}
}

func round1(f float64) float64 { return float64(int64(f*10+0.5)) / 10 }

// summary prints the run summary: the outcome of every record read, what
// each sink wrote (a record copied to two sinks is one record out, two
// lines written) and what crossed each edge.
func (o *runOutput) summary(s engine.Summary) {
	if o.json != nil {
		rep := report.FromSummary(s, time.Now())
		attrs := []any{"in", rep.In, "delivered", rep.Delivered, "filtered", rep.Filtered, "dropped", rep.Dropped,
			"dead_lettered", rep.DeadLettered, "unprocessed", rep.Unprocessed, "in_flight", rep.InFlight, "late", rep.Late,
			"balanced", rep.Balanced, "stopped", rep.Stopped, "elapsed_seconds", rep.ElapsedSeconds}
		if secs := s.Elapsed.Seconds(); secs > 0 {
			attrs = append(attrs, "records_per_second", round1(float64(s.In)/secs))
		}
		attrs = append(attrs, "sinks", rep.Sinks, "dead_letters", rep.DeadLetters, "edges", rep.Edges, "stages", rep.Stages)
		if len(s.Plugins) > 0 {
			attrs = append(attrs, "plugins", s.Plugins)
		}
		o.json.Info("summary", attrs...)
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "summary: %s\n", s)
	b.WriteString("summary: written")
	sep := " "
	for _, sk := range s.Sinks {
		if sk.Name == s.DeadLetters.Name && sk.Written == 0 {
			continue // the dead-letter service, counted below
		}
		fmt.Fprintf(&b, "%s%s %d", sep, sk.Name, sk.Written)
		if sk.Errors > 0 {
			fmt.Fprintf(&b, " (%d errors)", sk.Errors)
		}
		sep = ", "
	}
	if dl := s.DeadLetters; dl.Name != "" {
		fmt.Fprintf(&b, "%sdead letters (%s) %d", sep, dl.Name, dl.Written)
		if dl.Lost > 0 {
			fmt.Fprintf(&b, " (%d lost)", dl.Lost)
		}
	}
	b.WriteString("\nsummary: edges")
	sep = " "
	for _, e := range s.Edges {
		fmt.Fprintf(&b, "%s%s -> %s %d", sep, e.From, e.To, e.Records)
		if e.Late {
			b.WriteString(" (late)")
		}
		sep = ", "
	}
	b.WriteString("\n")
	for _, p := range s.Plugins {
		fmt.Fprintf(&b, "summary: plugin %s: %d batches", p.Name, p.Batches)
		if p.Lookups > 0 {
			fmt.Fprintf(&b, ", %d lookups (%d of %d keys found)", p.Lookups, p.LookupHits, p.LookupKeys)
		}
		for _, k := range slices.Sorted(maps.Keys(p.Metrics)) {
			fmt.Fprintf(&b, ", %s %d", k, p.Metrics[k])
		}
		for _, k := range slices.Sorted(maps.Keys(p.Faults)) {
			fmt.Fprintf(&b, ", %d %s faults", p.Faults[k], k)
		}
		if p.LogLinesSuppressed > 0 {
			fmt.Fprintf(&b, ", %d log lines suppressed", p.LogLinesSuppressed)
		}
		b.WriteString("\n")
	}
	io.WriteString(o.w, b.String())
}

// watermarkText renders the combined watermark and each event-time
// source's lag behind the wall clock (or how far ahead of it its event
// times run: a generator's, clock skew).
func watermarkText(s engine.Summary, now time.Time) string {
	if len(s.Sources) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString(" watermark ")
	if s.Watermark.IsZero() {
		b.WriteString("-")
	} else {
		b.WriteString(s.Watermark.Format(time.RFC3339))
	}
	for _, src := range s.Sources {
		fmt.Fprintf(&b, " [%s %s", src.Source, src.State)
		if rs := report.SourceOf(src, now); rs.Watermark != nil {
			if rs.AheadSeconds > 0 {
				fmt.Fprintf(&b, " ahead %s", secs(rs.AheadSeconds))
			} else {
				fmt.Fprintf(&b, " lag %s", secs(rs.LagSeconds))
			}
		}
		b.WriteString("]")
	}
	return b.String()
}

func secs(f float64) time.Duration {
	return time.Duration(f * float64(time.Second)).Round(time.Millisecond)
}

func watermarkAttrs(s engine.Summary, now time.Time) []any {
	if len(s.Sources) == 0 {
		return nil
	}
	var attrs []any
	if !s.Watermark.IsZero() {
		attrs = append(attrs, "watermark", s.Watermark.UTC())
	}
	srcs := make([]report.Source, len(s.Sources))
	for i, src := range s.Sources {
		srcs[i] = report.SourceOf(src, now)
	}
	return append(attrs, "sources", srcs)
}

func docsCommand() *cli.Command {
	return &cli.Command{
		Name:  "docs",
		Usage: "print the reference of pipeline keys, stages and connectors (or their JSON Schema, or this program's man page), generated from the specs that validate them",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Value: "markdown", Usage: "markdown (the pipeline reference), jsonschema (the JSON Schema of pipeline files, for editors), test-jsonschema (the JSON Schema of pipeline test files) or man (the man page of conveyor-wasm)"},
		},
		Action: func(c *cli.Context) error {
			var b strings.Builder
			switch f := c.String("format"); f {
			case "markdown", "md":
				engine.WriteDocs(&b)
			case "jsonschema":
				if err := engine.WriteJSONSchema(&b); err != nil {
					return &exitError{code: 1, err: err}
				}
			case "test-jsonschema":
				if err := pipetest.WriteJSONSchema(&b); err != nil {
					return &exitError{code: 1, err: err}
				}
			case "man":
				man, err := manPage(c.App)
				if err != nil {
					return &exitError{code: 1, err: err}
				}
				b.WriteString(man)
			default:
				return &exitError{code: 2, err: fmt.Errorf("docs: unknown --format %q (want markdown, jsonschema, test-jsonschema or man)", f)}
			}
			_, err := io.WriteString(c.App.Writer, b.String())
			return err
		},
	}
}
