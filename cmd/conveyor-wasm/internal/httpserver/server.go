// Package httpserver is the HTTP server of `conveyor-wasm run --http`:
// Prometheus metrics, Kubernetes probes, the live DAG page and its JSON
// endpoints, and optionally pprof.
//
//	GET /              the live page (embedded HTML, JS and CSS)
//	GET /api/graph     the pipeline as nodes and edges (engine.Graph)
//	GET /api/stats     the run summary so far (report.Summary) and per-stage dead letters
//	GET /metrics       Prometheus text format (engine/metrics, Go and process collectors)
//	GET /healthz       200 while the process serves
//	GET /readyz        200 while the run takes records; 503 before it starts, while it drains, after it ends
//	    /debug/pprof/  net/http/pprof, with Config.Pprof
package httpserver

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sync/atomic"
	"time"

	"github.com/conveyor-etl/conveyor-wasm/cmd/conveyor-wasm/internal/report"
	"github.com/conveyor-etl/conveyor-wasm/engine"
	"github.com/conveyor-etl/conveyor-wasm/engine/metrics"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

//go:embed web
var web embed.FS

// Config configures a Server.
type Config struct {
	// Addr is the address to listen on (host:port; port 0 picks one).
	Addr string
	// Plan is the pipeline the page draws.
	Plan *engine.Plan
	// Metrics are the run's metrics (nil: /metrics has only the Go and
	// process collectors).
	Metrics *metrics.Metrics
	// Pprof serves net/http/pprof under /debug/pprof/.
	Pprof bool
	// Logger receives the server's errors. Default: discard.
	Logger *slog.Logger
}

// Server serves one run. It starts before the run (probes answer while
// plugins load) and follows it once SetRunner is called.
type Server struct {
	cfg   Config
	ln    net.Listener
	srv   *http.Server
	run   atomic.Pointer[engine.Runner]
	ended atomic.Bool
	done  chan struct{}
}

// Start listens on cfg.Addr and serves in the background.
func Start(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("--http: %w", err)
	}
	s := &Server{cfg: cfg, ln: ln, done: make(chan struct{})}
	s.srv = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn)}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			cfg.Logger.Error("http server failed", "err", err)
		}
	}()
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// SetRunner makes readiness, /api/stats, the page's graph and the
// metrics' gauges follow r: the first run, or the run of a reloaded plan
// after RunEnded.
func (s *Server) SetRunner(r *engine.Runner) {
	if s.cfg.Metrics != nil {
		s.cfg.Metrics.Bind(r)
	}
	s.run.Store(r)
	s.ended.Store(false)
}

// RunEnded marks the run over: /readyz answers 503 until the next
// SetRunner (a reload), if any.
func (s *Server) RunEnded() { s.ended.Store(true) }

// Close stops the server, letting requests in progress finish until ctx
// ends.
func (s *Server) Close(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	<-s.done
	return err
}

// Handler returns the server's routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if s.cfg.Metrics != nil {
		reg.MustRegister(s.cfg.Metrics)
	}
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(s.cfg.Logger.Handler(), slog.LevelWarn)}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { text(w, http.StatusOK, "ok") })
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.HandleFunc("GET /api/graph", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, s.plan().Graph()) })
	mux.HandleFunc("GET /api/stats", s.stats)
	page, _ := fs.Sub(web, "web")
	mux.Handle("/", http.FileServerFS(page))
	if s.cfg.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return mux
}

// plan is the running plan: the runner's (a reload changes it), or
// Config.Plan before the first run.
func (s *Server) plan() *engine.Plan {
	if r := s.run.Load(); r != nil {
		return r.Plan()
	}
	return s.cfg.Plan
}

// state names where the run is: starting, running, draining or ended.
func (s *Server) state() string {
	r := s.run.Load()
	switch {
	case s.ended.Load():
		return "ended"
	case r == nil || !r.Started():
		return "starting"
	case r.Draining():
		return "draining"
	}
	return "running"
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	if st := s.state(); st != "running" {
		text(w, http.StatusServiceUnavailable, st)
		return
	}
	text(w, http.StatusOK, "ready")
}

// Stats is the body of /api/stats.
type Stats struct {
	State string         `json:"state"` // starting, running, draining or ended
	Time  time.Time      `json:"time"`
	Run   report.Summary `json:"run"`
	// DeadLetters counts, by stage (or source) id, the records it
	// dead-lettered (with metrics only).
	DeadLetters map[string]int64 `json:"dead_letters_by_stage"`
}

func (s *Server) stats(w http.ResponseWriter, _ *http.Request) {
	now := time.Now()
	st := Stats{State: s.state(), Time: now.UTC(), DeadLetters: map[string]int64{}}
	if r := s.run.Load(); r != nil {
		st.Run = report.FromSummary(r.Summary(), now)
	}
	if s.cfg.Metrics != nil {
		st.DeadLetters = s.cfg.Metrics.StageDeadLetters()
	}
	writeJSON(w, st)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(v)
}

func text(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	fmt.Fprintln(w, msg)
}
