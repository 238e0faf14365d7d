package engine

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/conveyor-etl/conveyor-wasm/conditions"
	"github.com/conveyor-etl/conveyor-wasm/connectors"
	"github.com/conveyor-etl/conveyor-wasm/engine/internal/decode"
	"github.com/conveyor-etl/conveyor-wasm/watermark"
	"go.yaml.in/yaml/v3"
)

// AllSources is the special edge origin that stands for every source.
const AllSources = "source"

// Defaults applied by Compile to unset settings.
const (
	DefaultBatchSize  = 1024
	DefaultQueueDepth = 4
)

// WasmConfig configures a `wasm` service: a plugin module used by transform
// (and later lookup) stages.
type WasmConfig struct {
	Path             string            `yaml:"path,required" doc:"the .wasm module, relative to the pipeline file"`
	Runtime          string            `yaml:"runtime" doc:"wazero (default)"`
	Config           map[string]string `yaml:"config" doc:"key/value configuration handed to the plugin's init"`
	Instances        int               `yaml:"instances" doc:"instance pool size, and how many batches a transform stage runs at once, in order (default: number of CPUs)"`
	MaxMemoryPages   uint32            `yaml:"max_memory_pages" doc:"memory limit in 64 KiB pages"`
	BatchTimeout     time.Duration     `yaml:"batch_timeout" doc:"time limit per batch; 0 disables the limit (faster loops, no runaway protection)"`
	RecycleAfter     int               `yaml:"recycle_after_batches" doc:"replace an instance after this many batches (0: never)"`
	RecycleAboveSize uint64            `yaml:"recycle_above_bytes" doc:"replace an instance whose memory grew past this many bytes (0: never)"`
	Env              map[string]string `yaml:"env" doc:"environment variables granted to the plugin"`
	Dirs             map[string]string `yaml:"dirs" doc:"guest path -> host directory granted read-only to the plugin"`
}

func defaultWasmConfig() *WasmConfig {
	return &WasmConfig{Runtime: "wazero", MaxMemoryPages: 1024, BatchTimeout: 10 * time.Second}
}

type nodeKind uint8

const (
	nodeSource nodeKind = iota + 1
	nodeStage
)

// node is a compiled DAG vertex.
type node struct {
	id     string
	idx    int
	kind   nodeKind
	at     Position
	source *Source
	stage  *Stage

	routes []route
	// routeStage[i] is routes[i]'s target as a one-element slice, so that
	// Route returns a single match without allocating.
	routeStage [][]*Stage
	allRoutes  []*Stage // the route targets, when every route is unconditional
	lb         *balancer
	unmatched  UnmatchedPolicy
	inputs     []*node // upstream nodes

	sourceCfg  any // decoded connector config of a source
	sourceSpec connectors.Spec
	eventTime  *eventTimeExtractor
	metaSet    []metaSetter

	// Event time: a source's watermark generator (nil: the source does not
	// take part in event time), and the late record policy of a source or
	// fan-in with the index of its late route in routes (-1: none).
	wmGen      *watermark.GeneratorConfig
	latePolicy LatePolicy
	lateRoute  int
}

type route struct {
	to   *node
	cond conditions.Condition // nil: always
	at   Position
	late bool // the side output for late records, not a normal edge
}

type metaSetter struct {
	key string
	val *conditions.ValueProgram
}

// plan is the compiled form of a pipeline.
type plan struct {
	nodes    []*node
	byID     map[string]*node
	sources  []*node
	services map[string]*service
	env      *conditions.Env
}

type service struct {
	name   string
	svc    *Service
	spec   connectors.Spec // sinks and lookup services
	cfg    any
	wasm   *WasmConfig
	lookup bool // a lookup service (spec.Kind == KindLookup)
}

type errList struct{ errs []error }

func (l *errList) at(pos Position, format string, args ...any) {
	l.errs = append(l.errs, &decode.Error{Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

func (l *errList) add(err error) {
	if err != nil {
		l.errs = append(l.errs, err)
	}
}

// Compile validates the pipeline and builds its routing plan: conditions are
// compiled once here, never per record. It reports every problem at once.
// Compile is idempotent.
func (p *Pipeline) Compile() error {
	if p.plan != nil {
		return nil
	}
	pl, err := compile(p)
	if err != nil {
		return err
	}
	p.plan = pl
	return nil
}

func (p *Pipeline) pos(at Position) Position {
	if at.File == "" {
		at.File = p.File
	}
	if at.File == "" {
		at.File = "pipeline"
	}
	return at
}

func compile(p *Pipeline) (*plan, error) {
	var errs errList
	if p.Settings.BatchSize == 0 {
		p.Settings.BatchSize = DefaultBatchSize
	}
	if p.Settings.QueueDepth == 0 {
		p.Settings.QueueDepth = DefaultQueueDepth
	}
	if p.Settings.Unmatched == "" {
		p.Settings.Unmatched = UnmatchedDeadLetter
	}
	if p.Settings.BatchSize < 1 || p.Settings.QueueDepth < 1 {
		errs.at(p.pos(p.Settings.At), "batch_size and queue_depth must be positive")
	}
	checkUnmatched(&errs, p.pos(p.Settings.At), p.Settings.Unmatched)

	var envOpts []conditions.EnvOption
	if p.text != nil {
		envOpts = append(envOpts, conditions.WithSourceFile(p.File, p.text))
	}
	env, err := conditions.NewEnv(envOpts...)
	if err != nil {
		return nil, fmt.Errorf("cel environment: %w", err)
	}
	pl := &plan{byID: map[string]*node{}, services: map[string]*service{}, env: env}
	d := &decode.Decoder{File: p.File}

	// Services.
	for name, s := range p.Services {
		s := s
		sv := &service{name: name, svc: &s}
		if s.Type == "wasm" {
			sv.wasm = defaultWasmConfig()
			d.Decode(s.Config, sv.wasm)
		} else if spec, ok := connectors.Lookup(connectors.KindSink, s.Type); ok {
			sv.spec, sv.cfg = spec, decodeConnector(d, &errs, spec, s.Config, p.pos(s.At), "service "+strconv.Quote(name))
		} else if spec, ok := connectors.Lookup(connectors.KindLookup, s.Type); ok {
			sv.spec, sv.cfg, sv.lookup = spec, decodeConnector(d, &errs, spec, s.Config, p.pos(s.At), "service "+strconv.Quote(name)), true
		} else {
			errs.at(p.pos(s.At), "service %q: unknown type %q (sinks: %s; lookups: %s; plugins: wasm)", name, s.Type,
				strings.Join(connectors.Types(connectors.KindSink), ", "), strings.Join(connectors.Types(connectors.KindLookup), ", "))
		}
		pl.services[name] = sv
	}
	if dl := p.Settings.DeadLetter; dl != "" {
		if sv, ok := pl.services[dl]; !ok || sv.wasm != nil || sv.lookup {
			errs.at(p.pos(p.Settings.At), "dead_letter: %q is not a sink service", dl)
		}
	}

	// Sources.
	if len(p.Sources) == 0 {
		errs.at(p.pos(p.At), "the pipeline has no sources")
	}
	for i := range p.Sources {
		s := &p.Sources[i]
		if s.Name == AllSources {
			errs.at(p.pos(s.At), "source name %q is reserved (it means every source)", AllSources)
			continue
		}
		if prev, dup := pl.byID[s.Name]; dup {
			errs.at(p.pos(s.At), "duplicate source name %q (first at %s)", s.Name, prev.at)
			continue
		}
		n := &node{id: s.Name, kind: nodeSource, at: p.pos(s.At), source: s, unmatched: p.Settings.Unmatched, lateRoute: -1}
		if spec, ok := connectors.Lookup(connectors.KindSource, s.Type); ok {
			n.sourceSpec, n.sourceCfg = spec, decodeConnector(d, &errs, spec, s.Config, p.pos(s.At), "source "+strconv.Quote(s.Name))
		} else {
			errs.at(p.pos(s.At), "source %q: unknown type %q (known: %s)", s.Name, s.Type, strings.Join(connectors.Types(connectors.KindSource), ", "))
		}
		if s.EventTime != nil {
			n.eventTime, err = newEventTimeExtractor(env, p.File, s.EventTime)
			if err != nil {
				errs.at(p.pos(s.EventTime.At), "event_time: %v", err)
			}
		}
		n.idx = len(pl.nodes)
		pl.nodes = append(pl.nodes, n)
		pl.sources = append(pl.sources, n)
		pl.byID[s.Name] = n
	}

	// Stages.
	for i := range p.Stages {
		s := &p.Stages[i]
		if s.ID == AllSources {
			errs.at(p.pos(s.At), "stage id %q is reserved", AllSources)
			continue
		}
		if prev, dup := pl.byID[s.ID]; dup {
			errs.at(p.pos(s.At), "duplicate id %q (first at %s)", s.ID, prev.at)
			continue
		}
		n := &node{id: s.ID, kind: nodeStage, at: p.pos(s.At), stage: s, unmatched: p.Settings.Unmatched, lateRoute: -1}
		if s.Unmatched != "" {
			checkUnmatched(&errs, n.at, s.Unmatched)
			n.unmatched = s.Unmatched
		}
		checkStage(p, pl, &errs, n)
		n.idx = len(pl.nodes)
		pl.nodes = append(pl.nodes, n)
		pl.byID[s.ID] = n
	}
	errs.errs = append(errs.errs, d.Errs...)

	// Edges.
	addRoute := func(from *node, to *node, c *Condition, at Position) {
		r := route{to: to, at: at}
		if c != nil {
			if err := c.compile(env, p.File); err != nil {
				errs.add(err)
			}
			r.cond = c.cond
		}
		from.routes = append(from.routes, r)
		if !slices.Contains(to.inputs, from) {
			to.inputs = append(to.inputs, from)
		}
	}
	for i := range p.Edges {
		e := &p.Edges[i]
		at := p.pos(e.At)
		to, ok := pl.byID[e.To]
		switch {
		case !ok:
			errs.at(at, "edge to unknown stage %q%s", e.To, didYouMean(e.To, pl.byID))
		case to.kind == nodeSource:
			errs.at(at, "edge to %q: a source cannot have inputs", e.To)
			ok = false
		}
		var froms []*node
		if e.From == AllSources {
			froms = pl.sources
		} else if f, fok := pl.byID[e.From]; fok {
			froms = []*node{f}
			if f.stage != nil && f.stage.Type == StageSink {
				errs.at(at, "edge from sink stage %q: sinks have no outputs", e.From)
				ok = false
			}
		} else {
			errs.at(at, "edge from unknown node %q%s", e.From, didYouMean(e.From, pl.byID))
			ok = false
		}
		if !ok {
			continue
		}
		for _, f := range froms {
			addRoute(f, to, e.Condition, at)
		}
	}
	for _, n := range pl.nodes {
		if n.stage == nil {
			continue
		}
		if fo := n.stage.FanOut; fo != nil {
			for _, t := range fo.Sinks {
				to, ok := pl.byID[t.SinkName]
				if !ok || to.kind != nodeStage {
					errs.at(p.pos(t.At), "fan_out sink %q is not a stage%s", t.SinkName, didYouMean(t.SinkName, pl.byID))
					continue
				}
				addRoute(n, to, t.Condition, p.pos(t.At))
			}
			if fo.Strategy != "" {
				lb, err := newBalancer(fo.Strategy, fo.HashKey)
				if err != nil {
					errs.at(p.pos(fo.At), "fan_out: %v", err)
				}
				n.lb = lb
			}
		}
		if fi := n.stage.FanIn; fi != nil {
			for _, in := range fi.Sources {
				from, ok := pl.byID[in.SourceName]
				if !ok {
					errs.at(p.pos(in.At), "fan_in input %q is not a source or stage%s", in.SourceName, didYouMean(in.SourceName, pl.byID))
					continue
				}
				if !slices.ContainsFunc(from.routes, func(r route) bool { return r.to == n }) {
					addRoute(from, n, nil, p.pos(in.At))
				}
			}
		}
	}
	compileEventTime(p, pl, &errs)
	for _, n := range pl.nodes {
		for _, r := range n.routes {
			n.routeStage = append(n.routeStage, []*Stage{r.to.stage})
		}
	}
	for _, n := range pl.nodes {
		uncond := len(n.routes) > 0
		for _, r := range n.routes {
			if r.cond != nil || r.late {
				uncond = false
			}
		}
		if uncond {
			for _, r := range n.routes {
				n.allRoutes = append(n.allRoutes, r.to.stage)
			}
		}
	}
	if len(errs.errs) == 0 {
		checkGraph(p, pl, &errs)
	}
	if len(errs.errs) > 0 {
		return nil, errors.Join(errs.errs...)
	}
	return pl, nil
}

// kind names what a service is: sink, lookup or wasm.
func (sv *service) kind() string {
	switch {
	case sv.wasm != nil:
		return "wasm"
	case sv.lookup:
		return "lookup"
	}
	return "sink"
}

// needLookupService resolves lookup.lookup_service (the seed's name for
// it; service_name is accepted too).
func needLookupService(pl *plan, errs *errList, n *node) *service {
	s := n.stage
	name := s.Lookup.LookupService
	if name == "" {
		name = s.ServiceName
	}
	sv, ok := pl.services[name]
	if !ok {
		errs.at(n.at, "stage %q: unknown lookup service %q", s.ID, name)
		return nil
	}
	if sv.kind() != "lookup" {
		errs.at(n.at, "stage %q: service %q is of type %s; a lookup stage needs a lookup service (%s)", s.ID, name, sv.svc.Type,
			strings.Join(connectors.Types(connectors.KindLookup), ", "))
		return nil
	}
	return sv
}

// decodeConnector decodes a connector's own keys into a fresh config of its
// spec (strictly, with positions) and runs the spec's checks.
func decodeConnector(d *decode.Decoder, errs *errList, spec connectors.Spec, n *yaml.Node, at Position, what string) any {
	cfg := spec.NewConfig()
	d.Decode(n, cfg)
	if spec.Check != nil {
		if err := spec.Check(cfg); err != nil {
			errs.at(at, "%s: %v", what, err)
		}
	}
	return cfg
}

func checkUnmatched(errs *errList, at Position, u UnmatchedPolicy) {
	switch u {
	case UnmatchedDrop, UnmatchedDeadLetter, UnmatchedError:
	default:
		errs.at(at, "unmatched: unknown policy %q (want drop, dead_letter or error)", u)
	}
}

func checkStage(p *Pipeline, pl *plan, errs *errList, n *node) {
	s := n.stage
	if !slices.Contains(stageTypes, s.Type) {
		names := make([]string, len(stageTypes))
		for i, t := range stageTypes {
			names[i] = string(t)
		}
		errs.at(n.at, "stage %q: unknown type %q (known: %s)", s.ID, s.Type, strings.Join(names, ", "))
		return
	}
	only := func(set bool, key string, t StageType) {
		if set && s.Type != t {
			errs.at(n.at, "stage %q: %s is only for %s stages", s.ID, key, t)
		}
	}
	only(s.Condition != nil, "condition", StageFilter)
	only(len(s.Set) > 0 || len(s.Remove) > 0, "set/remove", StageMetadata)
	only(s.FanOut != nil, "fan_out", StageFanOut)
	only(s.FanIn != nil, "fan_in", StageFanIn)
	only(s.Lookup != nil, "lookup", StageLookup)
	needService := func(kind string) *service {
		if s.ServiceName == "" {
			errs.at(n.at, "stage %q: a %s stage needs service_name", s.ID, s.Type)
			return nil
		}
		sv, ok := pl.services[s.ServiceName]
		if !ok {
			errs.at(n.at, "stage %q: unknown service %q", s.ID, s.ServiceName)
			return nil
		}
		if got := sv.kind(); got != kind {
			errs.at(n.at, "stage %q: service %q is of type %s; a %s stage needs a %s service", s.ID, s.ServiceName, sv.svc.Type, s.Type, kind)
			return nil
		}
		return sv
	}
	switch s.Type {
	case StageFilter:
		if s.Condition == nil {
			errs.at(n.at, "stage %q: a filter stage needs a condition", s.ID)
		} else if err := s.Condition.compile(pl.env, p.File); err != nil {
			errs.add(err)
		}
	case StageMetadata:
		if len(s.Set) == 0 && len(s.Remove) == 0 {
			errs.at(n.at, "stage %q: a metadata stage needs set or remove", s.ID)
		}
		keys := make([]string, 0, len(s.Set))
		for k := range s.Set {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			vp, err := s.Set[k].compile(pl.env, p.File)
			if err != nil {
				errs.add(err)
				continue
			}
			n.metaSet = append(n.metaSet, metaSetter{key: k, val: vp})
		}
	case StageSink:
		needService("sink")
	case StageTransform:
		needService("wasm")
	case StageFanOut:
		if s.FanOut == nil {
			errs.at(n.at, "stage %q: a fan_out stage needs fan_out.sinks", s.ID)
		}
	case StageFanIn:
		if s.FanIn == nil {
			errs.at(n.at, "stage %q: a fan_in stage needs fan_in.sources", s.ID)
		} else {
			checkFanIn(errs, p.pos(s.FanIn.At), s)
		}
	case StageLookup:
		if s.Lookup == nil {
			errs.at(n.at, "stage %q: a lookup stage needs lookup settings", s.ID)
		} else if sv := needLookupService(pl, errs, n); sv != nil {
			checkLookup(p, errs, n, sv)
		}
	}
	if s.Replicas < 0 {
		errs.at(n.at, "stage %q: replicas must be positive", s.ID)
	}
	if s.LoadBalance != nil {
		lb, err := newBalancer(s.LoadBalance.Strategy, s.LoadBalance.HashKey)
		if err != nil {
			errs.at(p.pos(s.LoadBalance.At), "stage %q: load_balance: %v", s.ID, err)
		}
		n.lb = lb
		if s.Replicas < 2 {
			errs.at(p.pos(s.LoadBalance.At), "stage %q: load_balance needs replicas >= 2", s.ID)
		}
	}
}

func checkFanIn(errs *errList, at Position, s *Stage) {
	fi := s.FanIn
	switch fi.MergeStrategy {
	case "", MergeEventTime, MergeArrival, MergeRoundRobin:
	default:
		errs.at(at, "stage %q: unknown merge_strategy %q (want event_time, arrival or round_robin)", s.ID, fi.MergeStrategy)
	}
	switch fi.Watermark {
	case "", FanInWatermarkMin, FanInWatermarkMax:
	default:
		errs.at(at, "stage %q: unknown watermark %q (want min or max)", s.ID, fi.Watermark)
	}
}

// checkGraph finds cycles, stages no source reaches, and stages with no
// path to a sink.
func checkGraph(p *Pipeline, pl *plan, errs *errList) {
	const (
		white = iota
		grey
		black
	)
	color := make([]int, len(pl.nodes))
	var stack []*node
	reported := false
	var visit func(n *node)
	visit = func(n *node) {
		color[n.idx] = grey
		stack = append(stack, n)
		for _, r := range n.routes {
			switch color[r.to.idx] {
			case grey:
				if !reported {
					i := slices.Index(stack, r.to)
					path := make([]string, 0, len(stack)-i+1)
					for _, x := range stack[i:] {
						path = append(path, x.id)
					}
					path = append(path, r.to.id)
					errs.at(r.at, "cycle: %s", strings.Join(path, " -> "))
					reported = true
				}
			case white:
				visit(r.to)
			}
		}
		stack = stack[:len(stack)-1]
		color[n.idx] = black
	}
	for _, n := range pl.nodes {
		if color[n.idx] == white {
			visit(n)
		}
	}
	if reported {
		return
	}
	reach := make([]bool, len(pl.nodes))
	var fwd func(n *node)
	fwd = func(n *node) {
		if reach[n.idx] {
			return
		}
		reach[n.idx] = true
		for _, r := range n.routes {
			fwd(r.to)
		}
	}
	for _, s := range pl.sources {
		fwd(s)
	}
	toSink := make([]bool, len(pl.nodes))
	changed := true
	for changed {
		changed = false
		for _, n := range pl.nodes {
			if toSink[n.idx] {
				continue
			}
			ok := n.stage != nil && n.stage.Type == StageSink
			for _, r := range n.routes {
				ok = ok || toSink[r.to.idx]
			}
			if ok {
				toSink[n.idx], changed = true, true
			}
		}
	}
	for _, n := range pl.nodes {
		if n.kind == nodeStage && !reach[n.idx] {
			errs.at(n.at, "stage %q is unreachable from any source", n.id)
		}
		if !toSink[n.idx] {
			what := "stage"
			if n.kind == nodeSource {
				what = "source"
			}
			errs.at(n.at, "%s %q has no path to a sink", what, n.id)
		}
	}
}

func didYouMean(id string, known map[string]*node) string {
	ids := make([]string, 0, len(known))
	for k := range known {
		ids = append(ids, k)
	}
	slices.Sort(ids)
	if best := decode.Closest(id, ids); best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return ""
}
