package metrics

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/conveyor-etl/conveyor-wasm/engine"
	"github.com/prometheus/client_golang/prometheus"
)

const benchPipeline = `id: bench
sources: [{name: gen, type: generate, count: 200000}]
services: {out: {type: discard}, clicks: {type: discard}}
stages:
  - {id: f, type: filter, condition: "record.payload.active == true"}
  - {id: fan, type: fan_out, fan_out: {sinks: [{sink_name: all}, {sink_name: click, condition: "record.payload.type == 'click'"}]}}
  - {id: all, type: sink, service_name: out}
  - {id: click, type: sink, service_name: clicks}
edges: [{from: gen, to: f}, {from: f, to: fan}]
`

// BenchmarkRun runs 200k generated records through a filter and a fan-out
// to two sinks, without metrics and with them (scraped every 100ms, ten
// times as often as a usual Prometheus): the difference is the metrics'
// cost on a pipeline whose stages do little work per record.
func BenchmarkRun(b *testing.B) {
	pl := load(b, benchPipeline)
	for _, on := range []bool{false, true} {
		name := "metrics=off"
		if on {
			name = "metrics=on"
		}
		b.Run(name, func(b *testing.B) {
			cpu0 := cpuTime()
			for b.Loop() {
				opts := engine.RunOptions{}
				var m *Metrics
				if on {
					m = New(pl)
					opts.Observer = m
				}
				r, err := engine.NewRunner(pl, opts)
				if err != nil {
					b.Fatal(err)
				}
				done := make(chan struct{})
				if on {
					m.Bind(r)
					reg := prometheus.NewRegistry()
					reg.MustRegister(m)
					go func() {
						t := time.NewTicker(100 * time.Millisecond)
						defer t.Stop()
						for {
							select {
							case <-done:
								return
							case <-t.C:
								if _, err := reg.Gather(); err != nil {
									panic(err)
								}
							}
						}
					}()
				}
				sum, err := r.Run(context.Background())
				close(done)
				if err != nil || sum.In != 200000 {
					b.Fatal(err, sum)
				}
			}
			b.ReportMetric(float64(200000*b.N)/b.Elapsed().Seconds(), "records/s")
			// CPU time is less disturbed than wall time by other processes
			// on a shared machine.
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(200000*b.N), "cpu-ns/record")
		})
	}
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
