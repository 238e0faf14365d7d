package pipetest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/valyala/fastjson"
	"go.yaml.in/yaml/v3"

	"github.com/conveyor-etl/conveyor-wasm/conditions"
	"github.com/conveyor-etl/conveyor-wasm/connectors"
	"github.com/conveyor-etl/conveyor-wasm/engine"
	"github.com/conveyor-etl/conveyor-wasm/engine/record"
	"github.com/conveyor-etl/conveyor-wasm/watermark"
)

// Options configure a test run.
type Options struct {
	// PluginCacheDir is where compiled Wasm modules are cached (see
	// engine.RunOptions).
	PluginCacheDir string
	// Run, if not empty, runs only the cases whose name contains it.
	Run string
}

// Result is the outcome of one test file.
type Result struct {
	Path string
	// Err is a problem with the file itself (it does not load, its
	// pipeline does not compile): no case ran.
	Err      error
	Cases    []CaseResult
	Duration time.Duration
}

// Failed reports whether the file or any of its cases failed.
func (r *Result) Failed() bool {
	if r.Err != nil {
		return true
	}
	for _, c := range r.Cases {
		if c.Failed() {
			return true
		}
	}
	return false
}

// CaseResult is the outcome of one case.
type CaseResult struct {
	Name     string
	Duration time.Duration
	// Failures are what did not hold, one message (possibly of several
	// lines) each.
	Failures []string
}

// Failed reports whether the case failed.
func (c *CaseResult) Failed() bool { return len(c.Failures) > 0 }

// RunFile loads the test file at path and runs its cases, one after
// another.
func RunFile(ctx context.Context, path string, opts Options) Result {
	start := time.Now()
	res := Result{Path: path}
	f, err := Load(path)
	if err == nil {
		var s *suite
		if s, err = newSuite(f); err == nil {
			for i := range f.Cases {
				c := &f.Cases[i]
				if opts.Run != "" && !strings.Contains(c.Name, opts.Run) {
					continue
				}
				res.Cases = append(res.Cases, s.run(ctx, c, opts))
			}
		}
	}
	res.Err = err
	res.Duration = time.Since(start)
	return res
}

// suite is a test file with its compiled pipeline.
type suite struct {
	f    *File
	plan *engine.Plan
	env  *conditions.Env
	// sinks maps service names and sink stage ids to service names.
	sinks map[string]string
	// sinkServices are the services that are sinks (replaced in every
	// case).
	sinkServices []string
	// sources holds, per source, the file connector settings the test's
	// input files are read with.
	sources map[string]sourceInfo
}

type sourceInfo struct {
	typ      string
	codec    string
	keyField string
	maxLine  int
	maxDepth int
}

func newSuite(f *File) (*suite, error) {
	pp := f.PipelinePath()
	plan, err := engine.Load(pp)
	if err != nil {
		return nil, err
	}
	env, err := conditions.NewEnv(conditions.WithSourceFile(f.Path, f.text))
	if err != nil {
		return nil, err
	}
	s := &suite{f: f, plan: plan, env: env, sinks: map[string]string{}, sources: map[string]sourceInfo{}}
	p := plan.Pipeline()
	for name, svc := range p.Services {
		if _, ok := connectors.Lookup(connectors.KindSink, svc.Type); ok {
			s.sinkServices = append(s.sinkServices, name)
			s.sinks[name] = name
		}
	}
	slices.Sort(s.sinkServices)
	for _, st := range p.Stages {
		if st.Type == engine.StageSink {
			if _, taken := s.sinks[st.ID]; !taken {
				s.sinks[st.ID] = st.ServiceName
			}
		}
	}
	if err := s.readSources(pp); err != nil {
		return nil, err
	}
	for _, c := range f.Cases {
		for name := range c.Inputs {
			if _, ok := s.sources[name]; !ok {
				return nil, fmt.Errorf("%s: case %q: no source %q in %s (sources: %s)", f.Path, c.Name, name, pp, strings.Join(slices.Sorted(mapsKeys(s.sources)), ", "))
			}
		}
		if err := s.checkExpect(c.Expect); err != nil {
			return nil, fmt.Errorf("%s: case %q: %w", f.Path, c.Name, err)
		}
		for _, st := range c.Steps {
			if _, ok := s.sources[st.Source]; st.Source != "" && !ok {
				return nil, fmt.Errorf("%s:%d: case %q: no source %q in %s (sources: %s)", f.Path, st.Line, c.Name, st.Source, pp, strings.Join(slices.Sorted(mapsKeys(s.sources)), ", "))
			}
			if err := s.checkExpect(st.Expect); err != nil {
				return nil, fmt.Errorf("%s:%d: case %q: %w", f.Path, st.Line, c.Name, err)
			}
		}
	}
	return s, nil
}

// checkExpect checks that expectations name sinks of the pipeline and
// that their assertions compile.
func (s *suite) checkExpect(expect map[string]*SinkExpect) error {
	for name, e := range expect {
		if _, ok := s.sinks[name]; !ok {
			return fmt.Errorf("no sink %q in %s (sink services and stages: %s)", name, s.f.PipelinePath(), strings.Join(slices.Sorted(mapsKeys(s.sinks)), ", "))
		}
		if e == nil {
			return fmt.Errorf("sink %q has no expectations", name)
		}
		if e.Assert.Src != "" {
			if _, err := s.compileAssert(e.Assert); err != nil {
				return err
			}
		}
	}
	return nil
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func (s *suite) compileAssert(e Expr) (*conditions.Program, error) {
	return s.env.Compile(e.Src, conditions.Source{File: s.f.Path, Line: e.Line, Col: e.Col, Quoted: e.Quoted, Block: e.Block})
}

// readSources reads the sources' connector keys that decide how input
// files become records (codec, key_field, limits) from the pipeline file:
// the engine keeps connector configs opaque.
func (s *suite) readSources(path string) error {
	text, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read pipeline: %w", err)
	}
	var raw struct {
		Sources []struct {
			Name     string `yaml:"name"`
			Type     string `yaml:"type"`
			Codec    string `yaml:"codec"`
			KeyField string `yaml:"key_field"`
			MaxLine  int    `yaml:"max_line_bytes"`
			MaxDepth int    `yaml:"max_depth"`
		} `yaml:"sources"`
	}
	// The pipeline compiled, so this cannot fail in ways that matter.
	_ = yaml.Unmarshal(text, &raw)
	for _, src := range s.plan.Pipeline().Sources {
		s.sources[src.Name] = sourceInfo{typ: src.Type}
	}
	for _, r := range raw.Sources {
		if _, ok := s.sources[r.Name]; ok && r.Type == "file" {
			s.sources[r.Name] = sourceInfo{typ: r.Type, codec: r.Codec, keyField: r.KeyField, maxLine: r.MaxLine, maxDepth: r.MaxDepth}
		}
	}
	return nil
}

// run runs one case and checks its expectations.
func (s *suite) run(ctx context.Context, c *Case, opts Options) CaseResult {
	start := time.Now()
	res := CaseResult{Name: c.Name}
	fail := func(format string, args ...any) { res.Failures = append(res.Failures, fmt.Sprintf(format, args...)) }
	defer func() { res.Duration = time.Since(start) }()

	start0 := time.Now()
	if c.Clock != "" {
		start0, _ = time.Parse(time.RFC3339Nano, c.Clock) // checked by Load
	}
	clk := watermark.NewManualClock(start0)
	// Every source is driven step by step: a case's steps, or its inputs
	// fed in turns (see feed).
	sources := map[string]connectors.Source{}
	stepped := map[string]*stepSource{}
	for name := range s.sources {
		stepped[name] = newStepSource()
		sources[name] = stepped[name]
	}
	var fed map[string]*capture
	if len(c.Steps) == 0 {
		fed = map[string]*capture{}
		for name := range s.sources {
			src, err := s.source(name, c.Inputs[name])
			if err == nil {
				fed[name], err = captureRead(ctx, src)
			}
			if err != nil {
				fail("%v", err)
				return res
			}
		}
	}
	sinks := map[string]connectors.Sink{}
	collected := map[string]*connectors.CollectSink{}
	for _, name := range s.sinkServices {
		cs := connectors.NewCollectSink()
		sinks[name], collected[name] = cs, cs
	}
	var dlOut bytes.Buffer
	r, err := engine.NewRunner(s.plan, engine.RunOptions{
		Logger:         slog.New(slog.DiscardHandler),
		Stdin:          strings.NewReader(""),
		Stdout:         &bytes.Buffer{},
		DeadLetterOut:  &dlOut,
		PluginCacheDir: opts.PluginCacheDir,
		Sources:        sources,
		Sinks:          sinks,
		DrainTimeout:   5 * time.Second,
		Clock:          clk,
	})
	if err != nil {
		fail("the pipeline could not start: %v", err)
		return res
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	runCtx, cancel := context.WithTimeout(ctx, timeout)
	var sum engine.Summary
	done := make(chan struct{})
	go func() { sum, err = r.Run(runCtx); close(done) }()
	d := &driver{s: s, r: r, clk: clk, srcs: stepped, sinks: collected, dlOut: &dlOut}
	if fed != nil {
		res.Failures = append(res.Failures, d.feed(runCtx, fed)...)
	} else {
		res.Failures = append(res.Failures, d.drive(runCtx, c.Steps)...)
	}
	d.endAll()
	<-done
	cancel()
	switch {
	case err != nil:
		fail("the run failed: %v", err)
		return res
	case sum.Stopped:
		fail("the run did not end within %s (a source that never ends?): %s", timeout, sum)
	case sum.Unprocessed > 0 || !sum.Balanced():
		fail("records were left unhandled: %s", sum)
	}

	dls := s.deadLetters(collected, dlOut.Bytes())
	for _, name := range slices.Sorted(mapsKeys(c.Expect)) {
		got := collected[s.sinks[name]].Records()
		res.Failures = append(res.Failures, s.checkSink(name, c.Expect[name], got)...)
	}
	res.Failures = append(res.Failures, checkDeadLetters(c.DeadLetters, dls)...)
	return res
}

// deadLetters are the dead letters received so far: from the dead-letter
// service, or the JSON lines that go to standard error (dlOut) when the
// pipeline names none.
func (s *suite) deadLetters(collected map[string]*connectors.CollectSink, dlOut []byte) []deadLetter {
	var dls []deadLetter
	if name := s.plan.Settings().DeadLetter; name != "" {
		for _, rec := range collected[name].Records() {
			dls = append(dls, parseDeadLetter(rec.Payload))
		}
		return dls
	}
	sc := bufio.NewScanner(bytes.NewReader(dlOut))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		dls = append(dls, parseDeadLetter(sc.Bytes()))
	}
	return dls
}

// source builds the in-memory source of one case: its inline records and
// its files, in the order given.
func (s *suite) source(name string, ins []Input) (connectors.Source, error) {
	info := s.sources[name]
	var segs []segment
	for i, in := range ins {
		what := fmt.Sprintf("%s: input %d of source %q", s.f.Path, i+1, name)
		if in.File != "" {
			path := in.File
			if !filepath.IsAbs(path) {
				path = filepath.Join(filepath.Dir(s.f.Path), path)
			}
			if abs, err := filepath.Abs(path); err == nil {
				path = abs
			}
			if _, err := os.Stat(path); err != nil {
				return nil, fmt.Errorf("%s: %w", what, err)
			}
			spec, _ := connectors.Lookup(connectors.KindSource, "file")
			cfg := spec.NewConfig().(*connectors.FileSourceConfig)
			cfg.Path = path
			if info.codec != "" {
				cfg.Codec = info.codec
			}
			cfg.KeyField = info.keyField
			if info.maxLine > 0 {
				cfg.MaxLineBytes = info.maxLine
			}
			if info.maxDepth > 0 {
				cfg.MaxDepth = info.maxDepth
			}
			cfg.ParseWorkers = 1
			segs = append(segs, segment{file: cfg, name: name, batch: s.plan.Settings().BatchSize})
			continue
		}
		payload, err := nodeJSON(&in.Payload)
		if err != nil {
			return nil, fmt.Errorf("%s: payload: %w", what, err)
		}
		rec := record.New("", payload)
		rec.Origin = fmt.Sprintf("%s:%d", s.f.Path, in.Payload.Line)
		switch {
		case in.Key != nil:
			rec.Key = *in.Key
		case info.keyField != "":
			rec.Key = connectors.KeyOf(payload, info.keyField)
		}
		for _, k := range slices.Sorted(mapsKeys(in.Metadata)) {
			rec.Metadata.Set(k, in.Metadata[k])
		}
		if in.EventTime != "" {
			t, err := time.Parse(time.RFC3339Nano, in.EventTime)
			if err != nil {
				return nil, fmt.Errorf("%s: event_time: %w", what, err)
			}
			rec.SetTime(t)
		}
		// A file source with the json_lines codec rejects what is not
		// JSON; so does its stand-in.
		reject := info.typ == "file" && (info.codec == "" || info.codec == "json_lines") && fastjson.ValidateBytes(payload) != nil
		if n := len(segs); n > 0 && segs[n-1].file == nil {
			segs[n-1].recs = append(segs[n-1].recs, inline{rec, reject})
		} else {
			segs = append(segs, segment{recs: []inline{{rec, reject}}})
		}
	}
	return &testSource{segs: segs}, nil
}

type inline struct {
	rec    *record.Record
	reject bool
}

// segment is a run of inline records, or one input file.
type segment struct {
	recs  []inline
	file  *connectors.FileSourceConfig
	name  string
	batch int
}

// testSource feeds one source of a case.
type testSource struct{ segs []segment }

func (t *testSource) Read(ctx context.Context, out connectors.Emitter) error {
	for _, sg := range t.segs {
		if sg.file != nil {
			spec, _ := connectors.Lookup(connectors.KindSource, "file")
			src, err := connectors.BuildSource(spec, sg.file, connectors.Env{
				BaseDir: filepath.Dir(sg.file.Path), BatchSize: sg.batch, Name: sg.name,
				Logger: slog.New(slog.DiscardHandler), Stdin: strings.NewReader("")})
			if err != nil {
				return err
			}
			err = src.Read(ctx, out)
			if cerr := src.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
			continue
		}
		var batch []*record.Record
		for _, in := range sg.recs {
			rec := copyOf(in.rec)
			if in.reject {
				if len(batch) > 0 {
					if err := out.Emit(ctx, batch); err != nil {
						return err
					}
					batch = nil
				}
				err := fastjson.ValidateBytes(rec.Payload)
				if err := out.Reject(ctx, rec.Payload, rec.Origin, fmt.Errorf("malformed JSON: %w", err)); err != nil {
					return err
				}
				continue
			}
			batch = append(batch, rec)
		}
		if len(batch) > 0 {
			if err := out.Emit(ctx, batch); err != nil {
				return err
			}
		}
	}
	return nil
}

func (t *testSource) Close() error { return nil }

func copyOf(r *record.Record) *record.Record {
	c := record.New(r.Key, slices.Clone(r.Payload))
	c.EventTime, c.Origin = r.EventTime, r.Origin
	c.Metadata = slices.Clone(r.Metadata)
	return c
}

// deadLetter is one record the dead-letter sink received.
type deadLetter struct {
	Reason string          `json:"reason"`
	Stage  string          `json:"stage"`
	Origin string          `json:"origin"`
	Record json.RawMessage `json:"record"`
	raw    []byte
}

func parseDeadLetter(b []byte) deadLetter {
	var d deadLetter
	if err := json.Unmarshal(b, &d); err != nil {
		d.Reason = "(not a dead letter: " + err.Error() + ")"
	}
	d.raw = slices.Clone(b)
	return d
}

// payload is the dead-lettered record's payload (decoded JSON, or its
// text).
func (d deadLetter) payload() any {
	var env struct {
		Payload json.RawMessage `json:"payload"`
	}
	if json.Unmarshal(d.Record, &env) != nil || env.Payload == nil {
		return nil
	}
	var x any
	if err := json.Unmarshal(env.Payload, &x); err != nil {
		return nil
	}
	return x
}

func (d deadLetter) String() string {
	p, _ := json.Marshal(d.payload())
	s := fmt.Sprintf("stage %q, reason %q", d.Stage, d.Reason)
	if d.Origin != "" {
		s += ", from " + d.Origin
	}
	return s + ": " + string(p)
}
