package plugins

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestPlugin_Lookup_Rows(t *testing.T) {
	p, _ := loadGuest(t, "badlookup", Options{Instances: 1})
	if c := p.Capabilities(); !c.Lookup || c.Transform {
		t.Fatalf("capabilities = %+v", c)
	}
	res, err := p.Lookup(context.Background(), [][]byte{[]byte("a"), []byte("b")}, nil)
	if err != nil || len(res) != 2 || string(res[0].Row) != `{"k":"a"}` || string(res[1].Row) != `{"k":"b"}` {
		t.Fatalf("lookup = %+v, %v", res, err)
	}
}

func TestPlugin_Lookup_Faults(t *testing.T) {
	tests := []struct {
		key  string
		kind Fault
		msg  string
	}{
		{"bad", FaultInvalidOutput, "row for key 1 is not a JSON object"},
		{"panic", FaultTrap, "lookup asked to panic"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			p, _ := loadGuest(t, "badlookup", Options{Instances: 1})
			dst := []LookupResult{{Found: true, Row: []byte("{}")}}
			res, err := p.Lookup(context.Background(), [][]byte{[]byte("ok"), []byte(tt.key)}, dst)
			var be *BatchError
			if !errors.As(err, &be) || be.Kind != tt.kind || !strings.Contains(be.Message, tt.msg) {
				t.Fatalf("err = %v, want a %s fault mentioning %q", err, tt.kind, tt.msg)
			}
			if len(res) != 1 {
				t.Fatalf("dst changed on failure: %+v", res)
			}
			if s := p.Stats(); s.Faults[tt.kind] != 2 || s.FailedBatches != 1 || s.Lookups != 0 {
				t.Fatalf("stats = %+v (one retry on a fresh instance expected)", s)
			}
			// The plugin still answers.
			if res, err := p.Lookup(context.Background(), [][]byte{[]byte("x")}, nil); err != nil || !res[0].Found {
				t.Fatalf("after the fault: %+v, %v", res, err)
			}
		})
	}
}

func TestPlugin_Process_NotATransform(t *testing.T) {
	p, _ := loadGuest(t, "badlookup", Options{Instances: 1})
	if _, err := p.Process(context.Background(), recs("x"), nil); !errors.Is(err, ErrNotTransform) {
		t.Fatalf("err = %v, want ErrNotTransform", err)
	}
	n, _ := loadGuest(t, "noop", Options{Instances: 1})
	if _, err := n.Lookup(context.Background(), [][]byte{[]byte("k")}, nil); !errors.Is(err, ErrNotLookup) {
		t.Fatalf("err = %v, want ErrNotLookup", err)
	}
}
