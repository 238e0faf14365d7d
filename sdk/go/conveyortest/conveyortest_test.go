package conveyortest_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	conveyor "github.com/conveyor-etl/conveyor-wasm/sdk/go"
	"github.com/conveyor-etl/conveyor-wasm/sdk/go/conveyortest"
)

// register installs the hooks for one test; tests in this package run
// sequentially because the SDK holds one plugin per process.
func register(t *testing.T, f conveyor.TransformFunc, init func() error, close func()) {
	conveyor.RegisterTransform(f)
	conveyor.OnInit(init)
	conveyor.OnClose(close)
	t.Cleanup(func() {
		conveyor.RegisterTransform(nil)
		conveyor.OnInit(nil)
		conveyor.OnClose(nil)
	})
}

func TestPlugin_Process_Outputs(t *testing.T) {
	et := time.Date(2026, 3, 4, 5, 6, 7, 8, time.UTC)
	register(t, func(r conveyor.Record, out conveyor.Emitter) error {
		switch r.Key {
		case "drop":
			return nil
		case "fail":
			return errors.New("cannot handle fail")
		case "split":
			out.Emit(conveyor.Record{Key: "s0", Payload: []byte("a")})
			out.Emit(conveyor.Record{Key: "s1", Payload: []byte("b")})
			return nil
		}
		prefix, _ := conveyor.Config("prefix")
		r.Key = prefix + r.Key
		r.Metadata.Set("seen", "yes")
		out.Emit(r)
		return nil
	}, nil, nil)
	p, err := conveyortest.New(conveyortest.Options{Config: map[string]string{"prefix": "p-"}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	got, err := p.Process(
		conveyor.Record{Key: "a", Payload: []byte("1"), EventTime: et, Metadata: conveyor.Metadata{{Key: "m", Value: "v"}}},
		conveyor.Record{Key: "drop"},
		conveyor.Record{Key: "fail"},
		conveyor.Record{Key: "split"},
	)
	if err != nil {
		t.Fatal(err)
	}
	want := []conveyortest.Output{
		{Input: 0, Record: conveyor.Record{Key: "p-a", Payload: []byte("1"), EventTime: et,
			Metadata: conveyor.Metadata{{Key: "m", Value: "v"}, {Key: "seen", Value: "yes"}}}},
		{Input: 2, Err: "cannot handle fail"},
		{Input: 3, Record: conveyor.Record{Key: "s0", Payload: []byte("a")}},
		{Input: 3, Record: conveyor.Record{Key: "s1", Payload: []byte("b")}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("outputs\n got %+v\nwant %+v", got, want)
	}
}

func TestPlugin_Process_OutputsOutliveNextBatch(t *testing.T) {
	register(t, func(r conveyor.Record, out conveyor.Emitter) error { out.Emit(r); return nil }, nil, nil)
	p, err := conveyortest.New(conveyortest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	first, _ := p.Process(conveyor.Record{Key: "1", Payload: []byte("first")})
	if _, err := p.Process(conveyor.Record{Key: "2", Payload: []byte("SECOND")}); err != nil {
		t.Fatal(err)
	}
	if string(first[0].Record.Payload) != "first" {
		t.Fatalf("first batch output changed to %q", first[0].Record.Payload)
	}
}

func TestPlugin_LogsCountersNow_Captured(t *testing.T) {
	fixed := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	register(t, func(r conveyor.Record, out conveyor.Emitter) error {
		conveyor.Log(conveyor.LevelInfo, "processing", "key", r.Key)
		conveyor.Counter("records", 1)
		r.Key = conveyor.Now().UTC().Format(time.RFC3339)
		out.Emit(r)
		return nil
	}, nil, nil)
	tests := []struct {
		name string
		now  func() time.Time
		want string
	}{
		{"default clock", nil, conveyortest.DefaultNow.Format(time.RFC3339)},
		{"custom clock", func() time.Time { return fixed }, fixed.Format(time.RFC3339)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := conveyortest.New(conveyortest.Options{Now: tt.now})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			outs, err := p.Process(conveyor.Record{Key: "a"}, conveyor.Record{Key: "b"})
			if err != nil {
				t.Fatal(err)
			}
			if outs[0].Record.Key != tt.want {
				t.Errorf("Now() = %s, want %s", outs[0].Record.Key, tt.want)
			}
			wantLogs := []conveyortest.LogEntry{
				{Level: conveyor.LevelInfo, Msg: "processing key=a"},
				{Level: conveyor.LevelInfo, Msg: "processing key=b"},
			}
			if !reflect.DeepEqual(p.Logs(), wantLogs) {
				t.Errorf("logs = %+v, want %+v", p.Logs(), wantLogs)
			}
			if got := p.Counters(); !reflect.DeepEqual(got, map[string]int64{"records": 2}) {
				t.Errorf("counters = %v", got)
			}
		})
	}
}

func TestNew_InitError(t *testing.T) {
	register(t, func(conveyor.Record, conveyor.Emitter) error { return nil }, func() error {
		if _, ok := conveyor.Config("field"); !ok {
			return errors.New(`config "field" is required`)
		}
		return nil
	}, nil)
	p, err := conveyortest.New(conveyortest.Options{})
	if p != nil || err == nil || !strings.Contains(err.Error(), `config "field" is required`) {
		t.Fatalf("New = %v, %v; want the OnInit error", p, err)
	}
	p, err = conveyortest.New(conveyortest.Options{Config: map[string]string{"field": "x"}})
	if err != nil {
		t.Fatalf("New with the field configured: %v", err)
	}
	p.Close()
}

func TestPlugin_Close_RunsHookAndRestoresHost(t *testing.T) {
	closed := 0
	register(t, func(conveyor.Record, conveyor.Emitter) error { return nil }, nil, func() { closed++ })
	p, err := conveyortest.New(conveyortest.Options{Config: map[string]string{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := conveyor.Config("k"); v != "v" {
		t.Fatalf("Config(k) while open = %q, want v", v)
	}
	p.Close()
	if closed != 1 {
		t.Fatalf("OnClose ran %d times, want 1", closed)
	}
	if _, ok := conveyor.Config("k"); ok {
		t.Fatal("Config(k) still answers after Close")
	}
}
