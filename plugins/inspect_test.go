package plugins

import (
	"context"
	"strings"
	"testing"
)

func TestInspect_Guests(t *testing.T) {
	tests := []struct {
		guest    string
		loadable bool
		abi      string
		what     string
		problem  string
	}{
		{"noop", true, "1.1", "conveyor transform plugin, ABI 1.1", ""},
		{"initerror", true, "1.1", "conveyor transform plugin, ABI 1.1", ""}, // init succeeds without "fail"
		{"wrongversion", false, "2.0", "conveyor plugin", "guest ABI version 2.0 is not compatible with host ABI version 1.1"},
		{"forbiddenimport", false, "", "conveyor plugin", "import wasi_snapshot_preview1.sock_accept is not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.guest, func(t *testing.T) {
			info, err := Inspect(context.Background(), guest(t, tt.guest))
			if err != nil {
				t.Fatal(err)
			}
			if info.Loadable != tt.loadable || info.ABI != tt.abi || info.What != tt.what || info.Runtime != "wazero" || info.Name != "plugin" {
				t.Fatalf("info = %+v", info)
			}
			if tt.problem != "" && !strings.Contains(strings.Join(info.Problems, "\n"), tt.problem) {
				t.Fatalf("problems %q lack %q", info.Problems, tt.problem)
			}
		})
	}
}

func TestInspect_NotWasm(t *testing.T) {
	if _, err := Inspect(context.Background(), []byte("#!/bin/sh\n")); err == nil || !strings.Contains(err.Error(), `inspect: a text file starting "#!/bin/sh", not a WebAssembly module`) {
		t.Fatalf("err = %v", err)
	}
}

func TestInspect_EmptyModule(t *testing.T) {
	info, err := Inspect(context.Background(), []byte("\x00asm\x01\x00\x00\x00"))
	if err != nil {
		t.Fatal(err)
	}
	if info.Loadable || info.ABIVersion != 0 || !strings.Contains(info.What, "not a conveyor plugin") {
		t.Fatalf("info = %+v", info)
	}
}

func TestInspectWith_RunsInitWithConfig(t *testing.T) {
	wasm := guest(t, "initerror")
	bad, err := InspectWith(context.Background(), wasm, InspectOptions{Name: "x", Config: map[string]string{"fail": "no"}})
	if err != nil {
		t.Fatal(err)
	}
	if bad.Loadable || bad.Init != "failed: init refused: no" || bad.Name != "x" {
		t.Fatalf("with fail: info = %+v", bad)
	}
	good, err := InspectWith(context.Background(), guest(t, "noop"), InspectOptions{Config: map[string]string{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	if !good.Loadable || good.Init != "ok" {
		t.Fatalf("noop: info = %+v", good)
	}
}
