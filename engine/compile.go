package engine

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/conveyor-etl/conveyor-wasm/conditions"
	"github.com/conveyor-etl/conveyor-wasm/connectors"
	"github.com/conveyor-etl/conveyor-wasm/engine/internal/decode"
	"github.com/conveyor-etl/conveyor-wasm/internal/suggest"
	"github.com/conveyor-etl/conveyor-wasm/plugins"
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

type nodeKind uint8

const (
	nodeSource nodeKind = iota + 1
	nodeStage
)

// node is a compiled DAG vertex. Nodes belong to a Plan and are never
// modified after Compile: per-run state lives in the Runner.
type node struct {
	id     string
	idx    int
	kind   nodeKind
	at     Position
	source *Source
	stage  *Stage
	sk     *stageKind // the stage's registration (nil for sources)
	impl   any        // the stage kind's compiled configuration

	routes []route
	// routeStage[i] is routes[i]'s target as a one-element slice, so that
	// Route returns a single match without allocating.
	routeStage [][]*Stage
	allRoutes  []*Stage // the route targets, when every route is unconditional
	// fanOut is a load-balanced fan-out's strategy (nil: every matching
	// route is taken). fanLB is the balancer RoutingEngine uses; runs make
	// their own from fanOut.
	fanOut    *LoadBalanceConfig
	fanLB     *balancer
	unmatched UnmatchedPolicy
	inputs    []*node // upstream nodes

	sourceCfg  any // decoded connector config of a source
	sourceSpec connectors.Spec
	eventTime  *eventTimeExtractor

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
	// otherwise: an else-route, taken only when no normal route is.
	otherwise bool
}

// Plan is a compiled pipeline: validated, with every condition compiled
// and every default applied. A Plan is immutable: any number of runs
// (NewRunner) and goroutines (RoutingEngine) may share it. It keeps the
// Pipeline it was compiled from, which it never modifies.
type Plan struct {
	p        *Pipeline
	settings Settings // p.Settings with defaults applied
	nodes    []*node
	byID     map[string]*node
	sources  []*node
	services map[string]*service
	env      *conditions.Env
}

// Pipeline returns the definition the plan was compiled from. It must not
// be modified.
func (pl *Plan) Pipeline() *Pipeline { return pl.p }

// Settings returns the pipeline's settings with defaults applied.
func (pl *Plan) Settings() Settings { return pl.settings }

// ID returns the pipeline's id.
func (pl *Plan) ID() string { return pl.p.ID }

// service is a compiled service: what it provides (capabilities) and its
// decoded configuration.
type service struct {
	name string
	svc  *Service
	caps capability
	spec connectors.Spec // sinks and lookup services
	cfg  any
	wasm *WasmConfig
}

// compiler holds what the compile steps share.
type compiler struct {
	p    *Pipeline
	pl   *Plan
	d    *decode.Decoder
	errs []error
	lost partial
}

// unresolved reports a reference to an unknown node (or service, when
// services), unless some did not decode: it may be one of them.
func (c *compiler) unresolved(services bool, pos Position, format string, args ...any) {
	if services && c.lost.services || !services && c.lost.nodes {
		return
	}
	c.at(pos, format, args...)
}

func (c *compiler) at(pos Position, format string, args ...any) {
	c.errs = append(c.errs, &decode.Error{Pos: c.p.pos(pos), Msg: fmt.Sprintf(format, args...)})
}

func (c *compiler) add(err error) {
	if err != nil {
		c.errs = append(c.errs, err)
	}
}

// Compile validates the pipeline and builds its plan: conditions are
// compiled once here, never per record. It reports every problem at once,
// as Issues sorted by position. p is not modified.
func (p *Pipeline) Compile() (*Plan, error) { return Compile(p) }

// Compile validates p and builds its plan; see Pipeline.Compile.
func Compile(p *Pipeline) (*Plan, error) { return compile(p, partial{}) }

// partial says what of a pipeline did not decode: Load compiles the rest,
// and leaves out what would follow from the loss.
type partial struct {
	some bool // something did not decode: the graph is not checked
	// nodes: a source or stage (or a whole list) did not decode, so a
	// reference to an unknown node is not reported; services: the same
	// for services.
	nodes, services bool
}

// compile is Compile of a pipeline of which lost did not decode.
func compile(p *Pipeline, lost partial) (*Plan, error) {
	c := &compiler{p: p, d: &decode.Decoder{File: p.File}, lost: lost}
	var envOpts []conditions.EnvOption
	if p.text != nil {
		envOpts = append(envOpts, conditions.WithSourceFile(p.File, p.text))
	}
	switch limit := p.Settings.CELCostLimit; {
	case limit < 0:
		envOpts = append(envOpts, conditions.WithCostLimit(0))
	case limit > 0:
		envOpts = append(envOpts, conditions.WithCostLimit(uint64(limit)))
	}
	env, err := conditions.NewEnv(envOpts...)
	if err != nil {
		return nil, fmt.Errorf("cel environment: %w", err)
	}
	c.pl = &Plan{p: p, byID: map[string]*node{}, services: map[string]*service{}, env: env}
	c.settings()
	c.servicesStep()
	c.sourcesStep()
	c.stagesStep()
	c.errs = append(c.errs, c.d.Errs...)
	c.edgesStep()
	c.fanOutsAndIns()
	compileEventTime(c)
	c.checkPaths()
	c.routeTables()
	if len(c.errs) == 0 && !lost.some {
		c.checkGraph()
	}
	if err := issuesOf(c.errs); err != nil {
		return nil, err
	}
	return c.pl, nil
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

// settings copies the pipeline's settings into the plan with defaults.
func (c *compiler) settings() {
	s := c.p.Settings
	if s.BatchSize == 0 {
		s.BatchSize = DefaultBatchSize
	}
	if s.QueueDepth == 0 {
		s.QueueDepth = DefaultQueueDepth
	}
	if s.Unmatched == "" {
		s.Unmatched = UnmatchedDeadLetter
	}
	if s.LateRecords == "" {
		s.LateRecords = LateDeadLetter
	}
	switch {
	case s.SinkRetries == 0:
		s.SinkRetries = DefaultSinkRetries
	case s.SinkRetries < 0:
		s.SinkRetries = 0
	}
	if s.SinkRetryBackoff <= 0 {
		s.SinkRetryBackoff = DefaultSinkRetryBackoff
	}
	if s.BatchSize < 1 || s.QueueDepth < 1 {
		c.at(s.At, "batch_size and queue_depth must be positive")
	}
	checkUnmatched(c, s.At, s.Unmatched)
	c.pl.settings = s
}

// servicesStep decodes every service and records what it provides: a
// connector's kind, or for wasm, transforms (and lookups, when the module
// exports them: checked when it is loaded).
func (c *compiler) servicesStep() {
	names := make([]string, 0, len(c.p.Services))
	for name := range c.p.Services {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		s := c.p.Services[name]
		sv := &service{name: name, svc: &s}
		what := "service " + strconv.Quote(name)
		if s.Type == "wasm" {
			sv.wasm = defaultWasmConfig()
			sv.caps = capTransform | capLookup // which it exports is checked when it loads
			c.decodeConfig(s.Config, sv.wasm, s.At, what)
			if rts := plugins.KnownRuntimes(); sv.wasm.Runtime != "" && !slices.Contains(rts, sv.wasm.Runtime) {
				c.at(c.keyPos(s.Config, "runtime", s.At), "%s: unknown runtime %q (want %s)%s", what, sv.wasm.Runtime,
					orList(rts), didYouMeanIn(sv.wasm.Runtime, rts))
			}
		} else if spec, ok := connectors.Lookup(connectors.KindSink, s.Type); ok {
			sv.spec, sv.cfg, sv.caps = spec, decodeConnector(c, spec, s.Config, s.At, what), capSink
		} else if spec, ok := connectors.Lookup(connectors.KindLookup, s.Type); ok {
			sv.spec, sv.cfg, sv.caps = spec, decodeConnector(c, spec, s.Config, s.At, what), capLookup
		} else {
			c.at(s.At, "service %q: unknown type %q (sinks: %s; lookups: %s; plugins: wasm)%s", name, s.Type,
				strings.Join(connectors.Types(connectors.KindSink), ", "), strings.Join(connectors.Types(connectors.KindLookup), ", "),
				didYouMeanIn(s.Type, append(append(connectors.Types(connectors.KindSink), connectors.Types(connectors.KindLookup)...), "wasm")))
		}
		c.pl.services[name] = sv
	}
	if dl := c.pl.settings.DeadLetter; dl != "" {
		if sv, ok := c.pl.services[dl]; !ok || sv.caps&capSink == 0 {
			c.unresolved(true, c.pl.settings.At, "dead_letter: %q is not a sink service%s", dl, c.didYouMeanService(dl, capSink))
		}
	}
}

// sourcesStep decodes every source's connector config and event time.
func (c *compiler) sourcesStep() {
	p, pl := c.p, c.pl
	if len(p.Sources) == 0 {
		c.at(p.At, "the pipeline has no sources")
	}
	for i := range p.Sources {
		s := &p.Sources[i]
		if s.Name == AllSources {
			c.at(s.At, "source name %q is reserved (it means every source)", AllSources)
			continue
		}
		if prev, dup := pl.byID[s.Name]; dup {
			c.at(s.At, "duplicate source name %q (first at %s)", s.Name, prev.at)
			continue
		}
		n := &node{id: s.Name, kind: nodeSource, at: p.pos(s.At), source: s, unmatched: pl.settings.Unmatched, lateRoute: -1}
		what := "source " + strconv.Quote(s.Name)
		if spec, ok := connectors.Lookup(connectors.KindSource, s.Type); ok {
			n.sourceSpec, n.sourceCfg = spec, decodeConnector(c, spec, s.Config, s.At, what)
		} else {
			types := connectors.Types(connectors.KindSource)
			c.at(s.At, "source %q: unknown type %q (known: %s)%s", s.Name, s.Type, strings.Join(types, ", "), didYouMeanIn(s.Type, types))
		}
		if s.EventTime != nil {
			x, err := newEventTimeExtractor(pl.env, p.File, s.EventTime)
			if err != nil {
				c.at(s.EventTime.At, "event_time: %v", err)
			}
			n.eventTime = x
		}
		n.idx = len(pl.nodes)
		pl.nodes = append(pl.nodes, n)
		pl.sources = append(pl.sources, n)
		pl.byID[s.Name] = n
	}
}

// stagesStep checks each stage against its type's registration and lets
// the type compile it.
func (c *compiler) stagesStep() {
	p, pl := c.p, c.pl
	for i := range p.Stages {
		s := &p.Stages[i]
		if s.ID == AllSources {
			c.at(s.At, "stage id %q is reserved", AllSources)
			continue
		}
		if prev, dup := pl.byID[s.ID]; dup {
			c.at(s.At, "duplicate id %q (first at %s)", s.ID, prev.at)
			continue
		}
		n := &node{id: s.ID, kind: nodeStage, at: p.pos(s.At), stage: s, unmatched: pl.settings.Unmatched, lateRoute: -1}
		if s.Unmatched != "" {
			checkUnmatched(c, s.At, s.Unmatched)
			n.unmatched = s.Unmatched
		}
		c.stage(n)
		n.idx = len(pl.nodes)
		pl.nodes = append(pl.nodes, n)
		pl.byID[s.ID] = n
	}
}

// typesWithKey lists the stage types that accept key, sorted.
func typesWithKey(key string) []string {
	var out []string
	for _, t := range stageTypeNames() {
		k := stageKinds[StageType(t)]
		if slices.Contains(k.keys, key) || key == "service_name" && k.service != capNone {
			out = append(out, t)
		}
	}
	return out
}

// stageKeys are the type-specific keys of Stage, with whether s sets them.
func stageKeys(s *Stage) []struct {
	key string
	set bool
} {
	return []struct {
		key string
		set bool
	}{
		{"service_name", s.ServiceName != ""},
		{"condition", s.Condition != nil},
		{"set/remove", len(s.Set) > 0 || len(s.Remove) > 0},
		{"fan_out", s.FanOut != nil},
		{"fan_in", s.FanIn != nil},
		{"lookup", s.Lookup != nil},
		{"payload", s.Payload != nil},
		{"key", s.Key != nil},
		{"event_time", s.EventTimeExpr != nil},
	}
}

func (c *compiler) stage(n *node) {
	s := n.stage
	k, ok := stageKinds[s.Type]
	if !ok {
		names := stageTypeNames()
		c.at(s.At, "stage %q: unknown type %q (known: %s)%s", s.ID, s.Type, strings.Join(names, ", "), didYouMeanIn(string(s.Type), names))
		return
	}
	n.sk = k
	for _, key := range stageKeys(s) {
		if key.set && !slices.Contains(k.keys, key.key) && (key.key != "service_name" || k.service == capNone) {
			c.at(s.At, "stage %q: %s is only for %s stages", s.ID, key.key, strings.Join(typesWithKey(key.key), " and "))
		}
	}
	if k.service != capNone && k.service != capLookup {
		c.needService(n, s.ServiceName, k.service)
	}
	if s.Replicas < 0 {
		c.at(s.At, "stage %q: replicas must be positive", s.ID)
	}
	if s.Parallelism < 0 {
		c.at(s.At, "stage %q: parallelism must be positive", s.ID)
	}
	if s.Parallelism > 1 && !k.traits.stateless {
		c.at(s.At, "stage %q: parallelism is only for stages that keep no state between batches (%s stages run one batch at a time per replica)", s.ID, s.Type)
	}
	if lb := s.LoadBalance; lb != nil {
		if _, err := newBalancer(lb.Strategy, lb.HashKey); err != nil {
			c.at(lb.At, "stage %q: load_balance: %v", s.ID, err)
		}
		if s.Replicas < 2 {
			c.at(lb.At, "stage %q: load_balance needs replicas >= 2", s.ID)
		}
	}
	if k.compile != nil {
		k.compile(c, n)
	}
}

// needService resolves a stage's service and checks that it provides cap.
func (c *compiler) needService(n *node, name string, cp capability) *service {
	s := n.stage
	if name == "" {
		c.at(s.At, "stage %q: a %s stage needs service_name", s.ID, s.Type)
		return nil
	}
	what := ""
	if cp == capLookup {
		what = "lookup "
	}
	sv, ok := c.pl.services[name]
	if !ok {
		c.unresolved(true, s.At, "stage %q: unknown %sservice %q%s", s.ID, what, name, c.didYouMeanService(name, cp))
		return nil
	}
	if sv.caps&cp == 0 {
		c.at(s.At, "stage %q: service %q is of type %s; a %s stage needs a %s service (%s)", s.ID, name, sv.svc.Type, s.Type, cp,
			strings.Join(typesProviding(cp), ", "))
		return nil
	}
	return sv
}

// typesProviding lists the service types that provide cp.
func typesProviding(cp capability) []string {
	var out []string
	switch cp {
	case capSink:
		out = connectors.Types(connectors.KindSink)
	case capLookup:
		out = append(connectors.Types(connectors.KindLookup), "wasm")
	case capTransform:
		out = []string{"wasm"}
	}
	return out
}

// addRoute adds an edge from -> to; otherwise makes it an else-route.
func (c *compiler) addRoute(from, to *node, cond *Condition, at Position, otherwise ...bool) {
	r := route{to: to, at: at}
	if len(otherwise) > 0 && otherwise[0] || cond.isElse() {
		if cond != nil && !cond.isElse() {
			c.at(at, "an else-edge (otherwise: true) cannot have a condition")
		}
		r.otherwise = true
		cond = nil
	}
	if cond != nil {
		cc, err := cond.compile(c.pl.env, c.p.File)
		if err != nil && c.elseTypo(cond, at) {
			err = nil
		}
		c.add(err)
		r.cond = cc
	}
	from.routes = append(from.routes, r)
	if !slices.Contains(to.inputs, from) {
		to.inputs = append(to.inputs, from)
	}
}

// elseTypo reports a condition that failed to compile and is one word
// close to else ("esle", "Else"), instead of the CEL error about an
// undeclared name; it returns whether it did.
func (c *compiler) elseTypo(cond *Condition, at Position) bool {
	word := strings.TrimSpace(cond.Expr)
	if cond.cond != nil || cond.node != nil && cond.node.Kind != yaml.ScalarNode || word == "" ||
		strings.IndexFunc(word, func(r rune) bool { return !unicode.IsLetter(r) }) >= 0 {
		return false
	}
	hint := didYouMeanIn(strings.ToLower(word), []string{"else"})
	if hint == "" {
		return false
	}
	if cond.node != nil && cond.node.Line > 0 {
		at = decode.At(cond.file, cond.node)
	}
	c.at(at, "condition %q: undeclared name%s", word, hint)
	return true
}

// edgesStep resolves the pipeline's edges.
func (c *compiler) edgesStep() {
	p, pl := c.p, c.pl
	for i := range p.Edges {
		e := &p.Edges[i]
		to, ok := pl.byID[e.To]
		switch {
		case !ok:
			c.unresolved(false, e.At, "edge to unknown stage %q%s", e.To, didYouMeanStage(e.To, pl.byID))
		case to.kind == nodeSource:
			c.at(e.At, "edge to %q: a source cannot have inputs", e.To)
			ok = false
		}
		var froms []*node
		if e.From == AllSources {
			froms = pl.sources
		} else if f, fok := pl.byID[e.From]; fok {
			froms = []*node{f}
			if f.sk != nil && f.sk.traits.terminal {
				c.at(e.At, "edge from %s stage %q: %ss have no outputs", f.stage.Type, e.From, f.stage.Type)
				ok = false
			}
		} else {
			c.unresolved(false, e.At, "edge from unknown node %q%s", e.From, didYouMeanIn(e.From, append(nodeIDs(pl.byID, false), AllSources)))
			ok = false
		}
		if !ok {
			continue
		}
		for _, f := range froms {
			c.addRoute(f, to, e.Condition, p.pos(e.At), e.Otherwise)
		}
	}
}

// fanOutsAndIns adds the routes fan_out and fan_in stages declare in their
// own sections.
func (c *compiler) fanOutsAndIns() {
	p, pl := c.p, c.pl
	for _, n := range pl.nodes {
		if n.stage == nil {
			continue
		}
		if fo := n.stage.FanOut; fo != nil && n.stage.Type == StageFanOut {
			for _, t := range fo.Sinks {
				to, ok := pl.byID[t.SinkName]
				if !ok || to.kind != nodeStage {
					c.unresolved(false, t.At, "fan_out sink %q is not a stage%s", t.SinkName, didYouMeanStage(t.SinkName, pl.byID))
					continue
				}
				c.addRoute(n, to, t.Condition, p.pos(t.At), t.Otherwise)
			}
			if fo.Strategy != "" {
				lb, err := newBalancer(fo.Strategy, fo.HashKey)
				if err != nil {
					c.at(fo.At, "fan_out: %v", err)
				}
				n.fanOut = &LoadBalanceConfig{At: fo.At, Strategy: fo.Strategy, HashKey: fo.HashKey}
				n.fanLB = lb
			}
		}
		if fi := n.stage.FanIn; fi != nil && n.stage.Type == StageFanIn {
			for _, in := range fi.Sources {
				from, ok := pl.byID[in.SourceName]
				if !ok {
					c.unresolved(false, in.At, "fan_in input %q is not a source or stage%s", in.SourceName, didYouMean(in.SourceName, pl.byID))
					continue
				}
				if !slices.ContainsFunc(from.routes, func(r route) bool { return r.to == n }) {
					c.addRoute(from, n, nil, p.pos(in.At))
				}
			}
		}
	}
}

// checkPaths refuses, before anything is opened, a source whose path or
// glob can match a file a sink (or the dead-letter sink) writes (a run
// would truncate or feed its own input), and two sinks writing one file
// (their lines would interleave and tear).
func (c *compiler) checkPaths() {
	base := c.p.baseDir()
	type writer struct {
		svc  *service
		path string
	}
	var writes []writer
	for _, name := range slices.Sorted(maps.Keys(c.pl.services)) {
		sv := c.pl.services[name]
		pu, ok := sv.cfg.(connectors.PathUser)
		if !ok {
			continue
		}
		_, ws := pu.Paths(base)
		for _, w := range ws {
			for _, prev := range writes {
				if connectors.Overlaps(prev.path, w) {
					c.at(sv.svc.At, "service %q writes %s, which service %q writes too (at %s): their lines would interleave", name, w, prev.svc.name, c.p.pos(prev.svc.svc.At))
				}
			}
			writes = append(writes, writer{sv, w})
		}
	}
	for _, n := range c.pl.sources {
		pu, ok := n.sourceCfg.(connectors.PathUser)
		if !ok {
			continue
		}
		reads, _ := pu.Paths(base)
		for _, r := range reads {
			for _, w := range writes {
				if connectors.Overlaps(r, w.path) {
					c.at(n.source.At, "source %q reads %s, which can match %s, written by service %q (at %s): the run would read its own output or truncate its input", n.id, r, w.path, w.svc.name, c.p.pos(w.svc.svc.At))
				}
			}
		}
	}
}

// routeTables precomputes what Route returns without allocating.
func (c *compiler) routeTables() {
	for _, n := range c.pl.nodes {
		uncond := len(n.routes) > 0
		for _, r := range n.routes {
			n.routeStage = append(n.routeStage, []*Stage{r.to.stage})
			if r.cond != nil || r.late || r.otherwise {
				uncond = false
			}
		}
		if uncond && n.fanOut == nil {
			for _, r := range n.routes {
				n.allRoutes = append(n.allRoutes, r.to.stage)
			}
		}
	}
}

// decodeConnector decodes a connector's own keys into a fresh config of its
// spec (strictly, with positions) and runs the spec's checks.
func decodeConnector(c *compiler, spec connectors.Spec, raw Config, at Position, what string) any {
	cfg := spec.NewConfig()
	c.decodeConfig(raw, cfg, at, what)
	if spec.Check != nil {
		c.connectorErrs(spec.Check(cfg), raw, at, what)
	}
	return cfg
}

// connectorErrs reports a connector check's error: each joined error
// apart, and a *connectors.KeyError at the value of its key (at the source
// or service, at, when the key is not in the file).
func (c *compiler) connectorErrs(err error, raw Config, at Position, what string) {
	if err == nil {
		return
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			c.connectorErrs(e, raw, at, what)
		}
		return
	}
	pos := at
	var ke *connectors.KeyError
	if errors.As(err, &ke) {
		pos = c.keyPos(raw, ke.Key, at)
	}
	c.at(pos, "%s: %v", what, err)
}

// keyPos is the position of key's value in raw, or at when raw has no such
// key from a file.
func (c *compiler) keyPos(raw Config, key string, at Position) Position {
	if n := raw.node; n != nil {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if v := n.Content[i+1]; n.Content[i].Value == key && v.Line > 0 {
				return decode.At(c.p.File, v)
			}
		}
	}
	return at
}

// decodeConfig decodes the keys of raw into out. Keys from a file carry
// their own positions; keys built in Go (ConfigOf, or the zero Config: no
// keys) have none, so their problems are reported at the source or service
// what, which holds them.
func (c *compiler) decodeConfig(raw Config, out any, at Position, what string) {
	if raw.err != nil {
		c.at(at, "%s: %v", what, raw.err)
		return
	}
	n := raw.node
	if n == nil {
		n = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	}
	d := &decode.Decoder{File: c.p.File}
	d.Decode(n, out)
	for _, err := range d.Errs {
		if de, ok := err.(*decode.Error); ok && de.Pos.Line == 0 {
			c.at(at, "%s: %s", what, de.Msg)
			continue
		}
		c.add(err)
	}
}

func checkUnmatched(c *compiler, at Position, u UnmatchedPolicy) {
	switch u {
	case UnmatchedDrop, UnmatchedDeadLetter, UnmatchedError:
	default:
		c.at(at, "unmatched: unknown policy %q (want drop, dead_letter or error)%s", u,
			didYouMeanIn(string(u), []string{"drop", "dead_letter", "error"}))
	}
}

// checkGraph finds cycles, stages no source reaches, and stages with no
// path to a sink.
func (c *compiler) checkGraph() {
	pl := c.pl
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
					c.at(r.at, "cycle: %s", strings.Join(path, " -> "))
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
			ok := n.sk != nil && n.sk.traits.terminal
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
			c.at(n.at, "stage %q is unreachable from any source", n.id)
		}
		if !toSink[n.idx] {
			what := "stage"
			if n.kind == nodeSource {
				what = "source"
			}
			c.at(n.at, "%s %q has no path to a sink", what, n.id)
		}
	}
}

func didYouMean(id string, known map[string]*node) string {
	return didYouMeanIn(id, nodeIDs(known, false))
}

// didYouMeanStage suggests the closest stage id (not a source name), where
// only a stage will do.
func didYouMeanStage(id string, known map[string]*node) string {
	return didYouMeanIn(id, nodeIDs(known, true))
}

// nodeIDs lists the ids in known, sorted; only stages' with stagesOnly.
func nodeIDs(known map[string]*node, stagesOnly bool) []string {
	ids := make([]string, 0, len(known))
	for k, n := range known {
		if !stagesOnly || n == nil || n.kind == nodeStage {
			ids = append(ids, k)
		}
	}
	slices.Sort(ids)
	return ids
}

// didYouMeanService suggests the closest name of a service that provides
// cp, or failing that of any service (the message then says what the
// service lacks).
func (c *compiler) didYouMeanService(name string, cp capability) string {
	var fit, all []string
	for _, k := range slices.Sorted(maps.Keys(c.pl.services)) {
		all = append(all, k)
		if c.pl.services[k].caps&cp != 0 {
			fit = append(fit, k)
		}
	}
	return cmp.Or(didYouMeanIn(name, fit), didYouMeanIn(name, all))
}

// orList formats values as "a, b or c".
func orList(vals []string) string { return suggest.OrList(vals) }

// didYouMeanIn suggests the closest of known names, or returns "".
func didYouMeanIn(name string, known []string) string { return suggest.DidYouMean(name, known) }

// WasmConfig configures a `wasm` service: a plugin module used by transform
// and lookup stages.
type WasmConfig struct {
	Path             string            `yaml:"path,required" doc:"the .wasm module, relative to the pipeline file" example:"plugins/redact.wasm"`
	Runtime          string            `yaml:"runtime" doc:"wazero (default: pure Go) or wasmtime (a build with -tags wasmtime and cgo)" example:"wasmtime"`
	Config           map[string]string `yaml:"config" doc:"key/value configuration handed to the plugin's init" example:"{mode: strict}"`
	Instances        int               `yaml:"instances" doc:"instance pool size, and how many batches a transform stage runs at once, in order (default: number of CPUs)" example:"4"`
	MaxMemoryPages   uint32            `yaml:"max_memory_pages" doc:"memory limit in 64 KiB pages" example:"1024"`
	BatchTimeout     time.Duration     `yaml:"batch_timeout" doc:"time limit per batch; 0 disables the limit (faster loops, no runaway protection)" example:"2s"`
	RecycleAfter     int               `yaml:"recycle_after_batches" doc:"replace an instance after this many batches (0: never)" example:"10000"`
	RecycleAboveSize uint64            `yaml:"recycle_above_bytes" doc:"replace an instance whose memory grew past this many bytes (0: never)" example:"268435456"`
	Env              map[string]string `yaml:"env" doc:"environment variables granted to the plugin" example:"{TZ: UTC}"`
	Dirs             map[string]string `yaml:"dirs" doc:"guest path -> host directory granted read-only to the plugin" example:"{/data: ./data}"`
}

func defaultWasmConfig() *WasmConfig {
	return &WasmConfig{Runtime: plugins.DefaultRuntime, MaxMemoryPages: plugins.DefaultMemoryPages, BatchTimeout: plugins.DefaultBatchTimeout}
}
