//go:build !wasip1

package conveyor

import (
	"errors"
	"reflect"
	"testing"

	"github.com/conveyor-etl/conveyor-wasm/abi"
)

func TestMetadata_Get_Cases(t *testing.T) {
	m := Metadata{{"a", "1"}, {"b", ""}}
	tests := []struct {
		key    string
		want   string
		wantOK bool
	}{
		{"a", "1", true},
		{"b", "", true},
		{"c", "", false},
	}
	for _, tt := range tests {
		got, ok := m.Get(tt.key)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("Get(%q) = %q, %v; want %q, %v", tt.key, got, ok, tt.want, tt.wantOK)
		}
	}
	if _, ok := Metadata(nil).Get("a"); ok {
		t.Error("nil Metadata has a key")
	}
}

func TestMetadata_Set_Cases(t *testing.T) {
	tests := []struct {
		name       string
		m          Metadata
		key, value string
		want       Metadata
	}{
		{"nil", nil, "a", "1", Metadata{{"a", "1"}}},
		{"append", Metadata{{"a", "1"}}, "b", "2", Metadata{{"a", "1"}, {"b", "2"}}},
		{"replace keeps order", Metadata{{"a", "1"}, {"b", "2"}}, "a", "9", Metadata{{"a", "9"}, {"b", "2"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.m.Set(tt.key, tt.value)
			if !reflect.DeepEqual(tt.m, tt.want) {
				t.Fatalf("got %v, want %v", tt.m, tt.want)
			}
		})
	}
}

func TestMetadata_Delete_Cases(t *testing.T) {
	tests := []struct {
		name string
		m    Metadata
		key  string
		want Metadata
	}{
		{"nil", nil, "a", nil},
		{"absent", Metadata{{"a", "1"}}, "b", Metadata{{"a", "1"}}},
		{"middle", Metadata{{"a", "1"}, {"b", "2"}, {"c", "3"}}, "b", Metadata{{"a", "1"}, {"c", "3"}}},
		{"last", Metadata{{"a", "1"}}, "a", Metadata{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.m.Delete(tt.key)
			if len(tt.m) != len(tt.want) || (len(tt.want) > 0 && !reflect.DeepEqual(tt.m, tt.want)) {
				t.Fatalf("got %v, want %v", tt.m, tt.want)
			}
		})
	}
}

// saveRegistered restores the registered hooks when the test ends.
func saveRegistered(t *testing.T) {
	saved := registered
	t.Cleanup(func() { registered = saved })
}

func TestRegisterTransform_LastWins(t *testing.T) {
	saveRegistered(t)
	RegisterTransform(func(Record, Emitter) error { return errors.New("first") })
	RegisterTransform(func(Record, Emitter) error { return errors.New("second") })
	if err := registered.transform(Record{}, nil); err == nil || err.Error() != "second" {
		t.Fatalf("registered transform returned %v, want second", err)
	}
}

func TestOnInit_OnClose_Registered(t *testing.T) {
	saveRegistered(t)
	var closed bool
	RegisterTransform(func(Record, Emitter) error { return nil })
	OnInit(func() error { return errors.New("init ran") })
	OnClose(func() { closed = true })
	g := &guest{hooks: registered}
	if err := g.init(abi.AppendConfig(nil, nil)); err == nil || err.Error() != "init ran" {
		t.Fatalf("init error = %v, want the OnInit error", err)
	}
	g.close()
	if !closed {
		t.Fatal("OnClose hook did not run")
	}
}

func TestConfig_Source_BeforeAndAfterInit(t *testing.T) {
	f := &fakeHost{config: map[string]string{"k": "from host"}}
	useHost(t, f)
	if v, ok := Config("k"); v != "from host" || !ok {
		t.Fatalf("before init Config(k) = %q, %v; want the host's value", v, ok)
	}
	g := &guest{hooks: hooks{transform: func(Record, Emitter) error { return nil }}}
	if err := g.init(abi.AppendConfig(nil, map[string]string{"k": "from frame"})); err != nil {
		t.Fatal(err)
	}
	if v, ok := Config("k"); v != "from frame" || !ok {
		t.Fatalf("after init Config(k) = %q, %v; want the frame's value", v, ok)
	}
	if _, ok := Config("absent"); ok {
		t.Fatal("after init Config(absent) reported a value")
	}
	g.close()
	if v, _ := Config("k"); v != "from host" {
		t.Fatalf("after close Config(k) = %q, want the host's value again", v)
	}
}
