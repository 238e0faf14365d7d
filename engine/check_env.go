package engine

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"path/filepath"
	"slices"

	"github.com/conveyor-etl/conveyor-wasm/connectors"
	"github.com/conveyor-etl/conveyor-wasm/engine/internal/decode"
	"github.com/conveyor-etl/conveyor-wasm/plugins"
)

// CheckOptions configure CheckEnvironment.
type CheckOptions struct {
	// StateDir is the state directory a run would use (RunOptions.StateDir);
	// empty: the run keeps no checkpoints, and it is not checked.
	StateDir string
	// PluginCacheDir is where compiled Wasm modules are cached, as for a
	// run (RunOptions.PluginCacheDir; empty: the user's cache directory,
	// "off": no cache). A cache is not pipeline output: validate then run
	// compiles a plugin once.
	PluginCacheDir string
}

// CheckEnvironment checks what a run of the plan would meet outside the
// pipeline file, as `validate` does by default: the files sources read
// exist and can be read (a glob matches at least one), the directories
// sinks write can be written or created, lookup tables load and index by
// the mapped fields, Wasm plugins load (they are WebAssembly, pass the ABI
// checks, and run their init with the service's config, runtime and
// limits) and export what their stages call, and the state directory can
// be written or created. It creates, truncates and writes nothing (plugins
// are compiled without the cache). Each connector checks its own part
// through connectors.Spec.Probe.
//
// It returns nil or Issues, sorted, each at the source, service or stage
// in the pipeline file that it is about.
func (pl *Plan) CheckEnvironment(ctx context.Context, o CheckOptions) error {
	ch := &envChecker{pl: pl, cacheDir: o.PluginCacheDir}
	ch.sources()
	ch.services(ctx)
	ch.stateDir(o.StateDir)
	return issuesOf(ch.errs)
}

type envChecker struct {
	pl       *Plan
	cacheDir string
	errs     []error
}

func (ch *envChecker) at(pos Position, format string, args ...any) {
	ch.errs = append(ch.errs, &decode.Error{Pos: ch.pl.p.pos(pos), Msg: fmt.Sprintf(format, args...)})
}

// env is the connector Env a run would build name with.
func (ch *envChecker) env(name string) connectors.Env {
	return connectors.Env{BaseDir: ch.pl.p.baseDir(), BatchSize: ch.pl.settings.BatchSize, Name: name,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

func (ch *envChecker) sources() {
	for _, n := range ch.pl.sources {
		if n.sourceCfg == nil {
			continue
		}
		if err := connectors.ProbeSpec(n.sourceSpec, n.sourceCfg, ch.env(n.id)); err != nil {
			ch.at(n.source.At, "source %q: %v", n.id, err)
		}
	}
}

// users lists the stages that name service name, in pipeline order.
func (ch *envChecker) users(name string) []*node {
	var out []*node
	for _, n := range ch.pl.nodes {
		if n.stage == nil || n.sk == nil {
			continue
		}
		switch {
		case n.sk.service == capLookup && n.stage.Lookup != nil && lookupServiceName(n.stage) == name,
			n.sk.service != capNone && n.sk.service != capLookup && n.stage.ServiceName == name:
			out = append(out, n)
		}
	}
	return out
}

func (ch *envChecker) services(ctx context.Context) {
	for _, name := range slices.Sorted(maps.Keys(ch.pl.services)) {
		sv := ch.pl.services[name]
		switch {
		case sv.wasm != nil:
			ch.plugin(ctx, sv)
		case sv.cfg != nil:
			env := ch.env(name)
			for _, n := range ch.users(name) {
				if n.sk.service != capLookup {
					continue
				}
				var fields []string
				for _, m := range n.stage.Lookup.KeyMappings {
					fields = append(fields, m.LookupField)
				}
				if len(fields) > 0 && !slices.ContainsFunc(env.LookupFields, func(f []string) bool { return slices.Equal(f, fields) }) {
					env.LookupFields = append(env.LookupFields, fields)
				}
			}
			if err := connectors.ProbeSpec(sv.spec, sv.cfg, env); err != nil {
				ch.at(sv.svc.At, "service %q: %v", name, err)
			}
		}
	}
}

// plugin loads a wasm service's plugin as a run would, with one instance
// and no compilation cache, checks that it exports what the stages naming
// it call, and closes it.
func (ch *envChecker) plugin(ctx context.Context, sv *service) {
	c := sv.wasm
	path := c.Path
	if !filepath.IsAbs(path) {
		path = filepath.Join(ch.pl.p.baseDir(), path)
	}
	timeout := c.BatchTimeout
	if timeout == 0 {
		timeout = -1
	}
	p, err := plugins.Load(ctx, plugins.Options{
		Name:      sv.name,
		Path:      path,
		Runtime:   c.Runtime,
		Config:    c.Config,
		Instances: 1,
		CacheDir:  ch.cacheDir, // a cache, not output: shared with runs
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		Limits:    plugins.Limits{MemoryPages: c.MaxMemoryPages, BatchTimeout: timeout},
		Grants:    plugins.Grants{Env: c.Env, Dirs: c.Dirs},
	})
	if err != nil {
		ch.at(sv.svc.At, "service %q: %v", sv.name, err)
		return
	}
	defer p.Close(context.WithoutCancel(ctx))
	caps := p.Capabilities()
	for _, n := range ch.users(sv.name) {
		switch {
		case n.sk.service == capLookup && !caps.Lookup:
			ch.at(n.stage.At, "stage %q: service %q: the plugin exports no conveyor_lookup (ABI 1.1): it cannot be a lookup service", n.id, sv.name)
		case n.sk.service == capTransform && !caps.Transform:
			ch.at(n.stage.At, "stage %q: service %q: the plugin exports no conveyor_process: it cannot be a transform", n.id, sv.name)
		}
	}
}

// stateDir checks that the pipeline's directory under the state directory
// can be written or created.
func (ch *envChecker) stateDir(dir string) {
	if dir == "" {
		return
	}
	if err := connectors.CanWrite(filepath.Join(dir, stateKey(ch.pl.p)), true); err != nil {
		ch.errs = append(ch.errs, fmt.Errorf("state directory: %w", err))
	}
}
