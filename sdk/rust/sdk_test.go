// Package rust_test builds the Rust SDK's examples from source with Debian's
// rustc and runs them through the real host, next to their Go counterparts.
package rust_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"github.com/conveyor-etl/conveyor-wasm/sdk/internal/guesttest"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/conveyor-etl/conveyor-wasm/abi"
	"github.com/conveyor-etl/conveyor-wasm/plugins"
	"github.com/conveyor-etl/conveyor-wasm/plugins/conformance"
	"github.com/conveyor-etl/conveyor-wasm/plugins/plugintest"
)

// rustc returns Debian's rustc with the wasm32-wasi standard library, or
// skips the test (fails it when CI=true) naming the packages to install.
func rustc(t testing.TB) string {
	t.Helper()
	rc := os.Getenv("RUSTC")
	if rc == "" {
		rc = "/usr/bin/rustc"
	}
	msg := ""
	if _, err := exec.LookPath(rc); err != nil {
		msg = fmt.Sprintf("no rustc at %s", rc)
	} else if out, err := exec.Command(rc, "--print", "sysroot").Output(); err != nil {
		msg = fmt.Sprintf("%s --print sysroot: %v", rc, err)
	} else if _, err := os.Stat(filepath.Join(strings.TrimSpace(string(out)), "lib/rustlib/wasm32-wasi")); err != nil {
		msg = fmt.Sprintf("%s has no wasm32-wasi standard library", rc)
	}
	if msg != "" {
		msg += " (apt-get install rustc libstd-rust-dev-wasm32)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return rc
}

// build builds the plugin whose crate root is src with build.sh, cached
// under os.TempDir by a hash of the compiler and every source file of the
// SDK and the plugin, and returns the .wasm path.
func build(t testing.TB, src string) string {
	t.Helper()
	rc := rustc(t)
	h := sha256.New()
	ver, _ := exec.Command(rc, "--version").Output()
	h.Write(ver)
	for _, dir := range []string{"src", filepath.Dir(src), "build.sh"} {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			fmt.Fprintf(h, "%s %d\n", path, len(b))
			h.Write(b)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	cache := filepath.Join(os.TempDir(), "conveyor-wasm-guests")
	name := filepath.Base(filepath.Dir(filepath.Dir(src)))
	out := filepath.Join(cache, "rust-"+name+"-"+hex.EncodeToString(h.Sum(nil))[:16]+".wasm")
	if _, err := os.Stat(out); err == nil {
		return out
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := out + fmt.Sprintf(".%d.tmp", os.Getpid())
	cmd := exec.Command("./build.sh", "plugin", src, tmp)
	// One build directory per compiler, so the SDK's rlib is built once
	// for all plugins (build.sh rebuilds it when a source is newer).
	vh := sha256.Sum256(ver)
	bdir := filepath.Join(cache, "rust-build-"+hex.EncodeToString(vh[:8]))
	cmd.Env = append(os.Environ(), "RUSTC="+rc, "BUILD="+bdir)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", src, err, msg)
	}
	if err := os.Rename(tmp, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// cacheDir holds compiled code for the whole test binary, so each module
// is compiled once however many times it is loaded.
var cacheDir = filepath.Join(os.TempDir(), "conveyor-wasm-sdk-rust-test-cache")

func load(t testing.TB, name, path string, config map[string]string) *plugins.Plugin {
	t.Helper()
	ctx := context.Background()
	p, err := plugins.Load(ctx, plugins.Options{Name: name, Path: path, Config: config, Instances: 1, CacheDir: cacheDir})
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	t.Cleanup(func() { p.Close(ctx) })
	return p
}

// redactorPayloads exercise what the Go redactor's JSON library does:
// white space, escapes, duplicate and escaped keys, arrays, numbers kept as
// written, lenient parsing, errors.
var redactorPayloads = []string{
	`{"email":"ann@example.com","user":{"phone":"+1 555 0100","name":"Ann"},"total":12.50}`,
	`{ "email" : "a@b.c" , "n" : 1e5 , "s":"x\"y\\z\u00e9" }`,
	`{"name":"no pii here"}`,
	` { "name" : "x" } `,
	`42`, `"email"`, `null`, `[1,2,3]`, `[]`, `{}`,
	`{"users":[{"email":"a"},{"email":"b"}],"ssn":123456789}`,
	`{"card":{"number":"4111","exp":"12/30"},"ok":true,"no":false,"nil":null}`,
	`{"\u0065mail":"escaped key","email":"plain key"}`,
	`{"email":"first","email":"second"}`,
	`{"x\ty":1,"email":"e"}`,
	`{"user":{"ph\u006fne":"p","k\"q":1}}`,
	`{"user":[{"phone":1}],"email":[1,{"a":[]}]}`,
	`{"email":NaN,"n":-Inf,"m":+1.5e-3}`,
	"{\"email\":\"tab\there\",\"ctl\":\"\x01\"}",
	`{"email":"a",}`, `{"email"}`, `email=a@b.c`, ``, `   `, `{"a":1} x`, `[1,2`, `{"a":tru}`, `nul`,
	`{"a":"unterminated`, `{"a":"\"}`, `{"a":"\\"}`,
	strings.Repeat("[", 300) + strings.Repeat("]", 300),
	strings.Repeat("[", 301) + strings.Repeat("]", 301),
	`{"email":"` + strings.Repeat("x", 100) + `"` + strings.Repeat(" ", 50),
	"{\"email\":\"caf\xc3\xa9\",\"bad\":\"\xff\xfe\"}",
	`{"a":tru` + strings.Repeat("e", 100), `{"a":nul` + strings.Repeat("\u00e9", 50), "{\"a\":1}\x01\xff", "{\"a\":1}\xc3\xa9",
	"\x7f", "-", "+", "1.2.3", "--5", "-Infinity", "[0x10]", "{\"a\":[1,]}", "{\"a\"  :  \xc3",
	`{"email":"x"}` + strings.Repeat(" \u2028", 30) + "!",
	"{\"a\":1} \u2028\u00a0\u00ad\u200b\ufeff\U0001F600\U000E0001\u0085\a\v\b",
}

var redactorConfigs = []map[string]string{
	{"fields": "email,user.phone"},
	{"fields": " ssn , card, nil ,no", "replacement": "***"},
	{"fields": "users.1.email,users.+0.email,users.-0.ssn,user.0.phone,email.1.a"},
	{"fields": "email", "replacement": "q\"\\\x01\n\u00e9\u00a0\u200b"},
	{"fields": "email,k\"q,user.k\"q,x\ty"},
	{"fields": "e\\u006dail,user.ph\\u006fne"},
	{"fields": "0,1,2,email.0"},
}

// TestPIIRedactor_MatchesGo runs the Rust and the Go pii-redactor on the
// same batches through the host and requires identical outputs (payload
// bytes, keys, metadata, event times, error texts) and counters.
func TestPIIRedactor_MatchesGo(t *testing.T) {
	rustPath := build(t, "examples/pii-redactor/src/lib.rs")
	goPath := plugintest.BuildGo(t, "../../examples/plugins/pii-redactor")
	var in []abi.Record
	for i, p := range redactorPayloads {
		r := abi.Record{Key: []byte(fmt.Sprintf("k%d", i)), Payload: []byte(p)}
		if i%2 == 0 {
			r.HasEventTime, r.EventTime = true, int64(i)*1e9-5
			r.Metadata = []abi.KV{{Key: []byte("source"), Value: []byte("test")}, {Key: []byte("n"), Value: []byte(fmt.Sprint(i))}}
		}
		in = append(in, r)
	}
	ctx := context.Background()
	for ci, cfg := range redactorConfigs {
		t.Run(fmt.Sprint(ci), func(t *testing.T) {
			rp := load(t, "rust-redactor", rustPath, cfg)
			gp := load(t, "go-redactor", goPath, cfg)
			got, err := rp.Process(ctx, in, nil)
			if err != nil {
				t.Fatal(err)
			}
			want, err := gp.Process(ctx, in, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("config %q: %d outputs, Go %d", cfg, len(got), len(want))
			}
			for i := range want {
				g, w := guesttest.Normalize(got[i]), guesttest.Normalize(want[i])
				if !reflect.DeepEqual(g, w) {
					t.Errorf("config %q, input %d %.80q:\n rust %s\n   go %s", cfg, w.Input, redactorPayloads[w.Input], guesttest.Show(g), guesttest.Show(w))
				}
			}
			gm, wm := rp.Stats().Metrics["fields_redacted"], gp.Stats().Metrics["fields_redacted"]
			if gm != wm {
				t.Errorf("config %q: fields_redacted = %d, Go %d", cfg, gm, wm)
			}
		})
	}
}

// normalize copies an output so that nil and empty slices compare equal.

// TestPIIRedactor_InitErrors checks that bad configuration fails the load
// with the same text as the Go redactor.
func TestPIIRedactor_InitErrors(t *testing.T) {
	rustPath := build(t, "examples/pii-redactor/src/lib.rs")
	ctx := context.Background()
	for _, cfg := range []map[string]string{nil, {"fields": " , ,"}, {"fields": "user..phone"}} {
		_, err := plugins.Load(ctx, plugins.Options{Name: "r", Path: rustPath, Config: cfg, Instances: 1, CacheDir: "off"})
		if err == nil {
			t.Fatalf("config %q: loaded", cfg)
		}
		want := `config "fields": required`
		if cfg["fields"] == "user..phone" {
			want = `config "fields": field path "user..phone" has an empty segment`
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("config %q: %v, want it to contain %q", cfg, err, want)
		}
	}
}

// TestPIIRedactor_Exports checks the module shape: a reactor with the ABI
// 1.1 exports and no imports beyond the allow-list (the host checks them).
func TestPIIRedactor_Exports(t *testing.T) {
	wasm, err := os.ReadFile(build(t, "examples/pii-redactor/src/lib.rs"))
	if err != nil {
		t.Fatal(err)
	}
	info, err := plugins.InspectWith(context.Background(), wasm, plugins.InspectOptions{Config: map[string]string{"fields": "email"}})
	if err != nil {
		t.Fatal(err)
	}
	if !info.Loadable || info.ABI != "1.1" || !info.Transform || info.Lookup || info.Init != "ok" {
		t.Fatalf("inspect: %+v", info)
	}
	var names []string
	for _, e := range info.Exports {
		names = append(names, e.Name)
	}
	sort.Strings(names)
	for _, want := range []string{"_initialize", "conveyor_abi_version", "conveyor_alloc", "conveyor_close", "conveyor_init", "conveyor_process"} {
		if i := sort.SearchStrings(names, want); i == len(names) || names[i] != want {
			t.Errorf("export %s missing from %q", want, names)
		}
	}
}

// TestSDK_NativeUnitTests runs the SDK's and the examples' own Rust unit
// tests natively (build.sh test). A pass is remembered under os.TempDir by
// a hash of the compiler and the sources, so unchanged sources are not
// rebuilt.
func TestSDK_NativeUnitTests(t *testing.T) {
	rc := rustc(t)
	h := sha256.New()
	ver, _ := exec.Command(rc, "--version").Output()
	h.Write(ver)
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() && d.Name() == "build" {
			if err == nil {
				err = filepath.SkipDir
			}
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(path, ".rs") || path == "build.sh") {
			b, err := os.ReadFile(path)
			fmt.Fprintf(h, "%s %d\n", path, len(b))
			h.Write(b)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	stamp := filepath.Join(os.TempDir(), "conveyor-wasm-guests", "rust-unit-tests-"+hex.EncodeToString(h.Sum(nil))[:16]+".passed")
	if _, err := os.Stat(stamp); err == nil {
		return
	}
	cmd := exec.Command("./build.sh", "test")
	cmd.Env = append(os.Environ(), "RUSTC="+rc, "BUILD="+t.TempDir())
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("build.sh test: %v\n%s", err, out.String())
	}
	if err := os.MkdirAll(filepath.Dir(stamp), 0o755); err == nil {
		os.WriteFile(stamp, nil, 0o644)
	}
}

// TestConformance runs the ABI conformance suite (plugins/conformance)
// against this SDK's conformance guest on the default runtime;
// plugins/conformance runs it on every runtime.
func TestConformance(t *testing.T) {
	wasm, err := os.ReadFile(build(t, "conformance/src/lib.rs"))
	if err != nil {
		t.Fatal(err)
	}
	conformance.Run(t, conformance.Target{Guest: "rust", Wasm: wasm})
}

// TestUserTier_MatchesGo looks up the same keys in the Rust user-tier
// lookup plugin and the Go one (examples/plugins/user-tier), with and
// without a default tier, and requires the same rows and misses.
func TestUserTier_MatchesGo(t *testing.T) {
	path := build(t, "examples/user-tier/src/lib.rs")
	goPath := plugintest.BuildGo(t, "../../examples/plugins/user-tier")
	keys := [][]byte{[]byte("u1"), []byte("u2"), []byte("nobody"), nil, []byte("u3"), []byte("c1"), []byte("u1"), []byte("U1"), []byte("u1 ")}
	ctx := context.Background()
	for _, cfg := range []map[string]string{nil, {"default_tier": "free"}, {"default_tier": "a\"b\\c é"}} {
		p := load(t, "rust-user-tier", path, cfg)
		gp := load(t, "go-user-tier", goPath, cfg)
		if c := p.Capabilities(); !c.Lookup || c.Transform {
			t.Fatalf("capabilities = %+v, want a lookup only", c)
		}
		got, err := p.Lookup(ctx, keys, nil)
		if err != nil {
			t.Fatal(err)
		}
		want, err := gp.Lookup(ctx, keys, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("config %q: %d results, Go %d", cfg, len(got), len(want))
		}
		for i := range want {
			if got[i].Found != want[i].Found || !bytes.Equal(got[i].Row, want[i].Row) {
				t.Errorf("config %q, key %q: %v %s, Go %v %s", cfg, keys[i], got[i].Found, got[i].Row, want[i].Found, want[i].Row)
			}
		}
	}
}
