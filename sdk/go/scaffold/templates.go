package scaffold

import (
	"io/fs"
	"path"

	c "github.com/conveyor-etl/conveyor-wasm/sdk/c"
	rust "github.com/conveyor-etl/conveyor-wasm/sdk/rust"
)

func goProject(o Options, files map[string]string) error {
	if err := copyTree(files, "abi", "third_party/conveyor-wasm/abi"); err != nil {
		return err
	}
	if err := copyTree(files, "sdk/go", "third_party/conveyor-wasm/sdk/go"); err != nil {
		return err
	}
	files["third_party/conveyor-wasm/go.mod"] = "module github.com/conveyor-etl/conveyor-wasm\n\ngo 1.25\n"
	files["third_party/conveyor-wasm/README.md"] = thirdPartyReadme
	files["go.mod"] = expand(goMod, o)
	files["main.go"] = expand(goMain, o)
	files["main_test.go"] = expand(goTest, o)
	files["README.md"] = expand(goReadme, o)
	files["test.sh"] = expand(goTestSh, o)
	return nil
}

func rustProject(o Options, files map[string]string) error {
	err := fs.WalkDir(rust.Sources, "src", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Base(p) == "tests.rs" { // tests.rs: the SDK's own tests
			return err
		}
		b, err := rust.Sources.ReadFile(p)
		files["conveyor/"+p] = string(b)
		return err
	})
	if err != nil {
		return err
	}
	files["src/lib.rs"] = expand(rustLib, o)
	files["build.sh"] = expand(rustBuild, o)
	files["test.sh"] = expand(rustTestSh, o)
	files["README.md"] = expand(rustReadme, o)
	return nil
}

func cProject(o Options, files map[string]string) error {
	files["conveyor.h"] = string(c.Header)
	files["plugin.c"] = expand(cPlugin, o)
	files["build.sh"] = expand(cBuild, o)
	files["test.sh"] = expand(cTestSh, o)
	files["README.md"] = expand(cReadme, o)
	return nil
}

const thirdPartyReadme = `# third_party/conveyor-wasm

A copy of the conveyor-wasm guest SDK (packages abi and sdk/go), written by
` + "`conveyor-wasm plugin new`" + `. The project's go.mod replaces the module
github.com/conveyor-etl/conveyor-wasm with this directory, because the SDK
is not published as a module. To update it, create a new project with a
newer conveyor-wasm and copy its third_party over this one.
`

const goMod = `module {{NAME}}

go 1.25

require github.com/conveyor-etl/conveyor-wasm v0.0.0

// The SDK ships with the project (see third_party/conveyor-wasm/README.md).
replace github.com/conveyor-etl/conveyor-wasm => ./third_party/conveyor-wasm
`

const goMain = `// Command {{NAME}} is a conveyor-wasm transform plugin: it tags every
// record with metadata processed_by={{NAME}} (or the config value "tag")
// and drops records with an empty payload.
package main

import (
	conveyor "github.com/conveyor-etl/conveyor-wasm/sdk/go"
)

var tag = "{{NAME}}"

func init() {
	conveyor.OnInit(func() error {
		if v, ok := conveyor.Config("tag"); ok {
			tag = v
		}
		return nil
	})
	conveyor.RegisterTransform(func(r conveyor.Record, out conveyor.Emitter) error {
		if len(r.Payload) == 0 {
			return nil // no output: the record is dropped
		}
		r.Metadata.Set("processed_by", tag)
		conveyor.Counter("tagged", 1)
		out.Emit(r)
		return nil
	})
}

func main() {}
`

const goTest = `package main

import (
	"testing"

	conveyor "github.com/conveyor-etl/conveyor-wasm/sdk/go"
	"github.com/conveyor-etl/conveyor-wasm/sdk/go/conveyortest"
)

func TestTransform_TagsAndDrops(t *testing.T) {
	p, err := conveyortest.New(conveyortest.Options{Config: map[string]string{"tag": "test"}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	outs, err := p.Process(conveyor.Record{Key: "a", Payload: []byte(` + "`" + `{"n":1}` + "`" + `)}, conveyor.Record{Key: "b"})
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 1 || outs[0].Input != 0 {
		t.Fatalf("outputs = %+v, want one for input 0", outs)
	}
	if v, _ := outs[0].Record.Metadata.Get("processed_by"); v != "test" {
		t.Fatalf("processed_by = %q", v)
	}
	if n := p.Counters()["tagged"]; n != 1 {
		t.Fatalf("tagged counter = %d", n)
	}
}
`

const goReadme = "# {{NAME}}\n\n" +
	"A conveyor-wasm transform plugin in Go.\n\n" +
	"```sh\n" +
	"go test ./...                                                   # unit tests, natively\n" +
	"GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o {{NAME}}.wasm .\n" +
	"{{CLI}} plugin test {{NAME}}.wasm                        # checks through the real host\n" +
	"./test.sh                                                       # all three\n" +
	"```\n\n" +
	"Use it in a pipeline:\n\n" +
	"```yaml\nservices:\n  {{NAME}}: {type: wasm, path: {{NAME}}.wasm, config: {tag: mine}}\n" +
	"stages:\n  - {id: {{NAME}}, type: transform, service_name: {{NAME}}}\n```\n\n" +
	"The SDK is in third_party/conveyor-wasm (see its README); its API is documented\n" +
	"in third_party/conveyor-wasm/sdk/go/conveyor.go. `conveyor.RegisterLookup` makes a\n" +
	"lookup plugin instead (or as well).\n"

const goTestSh = `#!/bin/sh
# Unit tests, the Wasm build, and the host's checks on the built plugin.
set -eu
cd "$(dirname "$0")"
go vet ./...
go test ./...
GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o {{NAME}}.wasm .
{{CLI}} plugin test {{NAME}}.wasm
`

const rustLib = `//! {{NAME}}: a conveyor-wasm transform plugin. Tags every record with
//! metadata processed_by=<config "tag", default "{{NAME}}"> and drops
//! records with an empty payload.
use conveyor::{Config, Emitter, Error, Plugin, Record, Transform};

pub struct Tagger {
    tag: Vec<u8>,
}

impl Plugin for Tagger {
    fn new(config: &Config) -> Result<Self, Error> {
        let tag = match config.get("tag") {
            Some(v) => v.as_bytes().to_vec(),
            None => b"{{NAME}}".to_vec(),
        };
        Ok(Tagger { tag })
    }
}

impl Transform for Tagger {
    fn process(&mut self, r: &Record, out: &mut Emitter) -> Result<(), Error> {
        if r.payload.is_empty() {
            return Ok(()); // no output: the record is dropped
        }
        let mut md = r.metadata.to_vec();
        md.push((b"processed_by", &self.tag));
        conveyor::counter("tagged", 1);
        out.emit(&Record { metadata: &md, ..*r });
        Ok(())
    }
}

conveyor::export!(Tagger, transform);
`

const rustBuild = `#!/bin/sh
# Builds {{NAME}}.wasm with rustc alone (Debian: rustc libstd-rust-dev-wasm32).
set -eu
cd "$(dirname "$0")"
# Debian's rustc (with libstd-rust-dev-wasm32) first: a rustup rustc may lack the target.
RUSTC=${RUSTC:-$(command -v /usr/bin/rustc || command -v rustc)}
mkdir -p build
$RUSTC --edition 2021 -C opt-level=2 --target wasm32-wasi --crate-type rlib --crate-name conveyor \
    conveyor/src/lib.rs --out-dir build
$RUSTC --edition 2021 -C opt-level=2 -C strip=symbols --target wasm32-wasi --crate-type cdylib \
    --crate-name {{IDENT}} -L build --extern conveyor=build/libconveyor.rlib src/lib.rs --out-dir build
mv build/{{IDENT}}.wasm {{NAME}}.wasm
echo "built {{NAME}}.wasm"
`

const rustTestSh = `#!/bin/sh
# Builds the plugin and runs the host's checks on it.
set -eu
cd "$(dirname "$0")"
./build.sh
{{CLI}} plugin test {{NAME}}.wasm
`

const rustReadme = "# {{NAME}}\n\n" +
	"A conveyor-wasm transform plugin in Rust (no cargo needed: the SDK crate is in\n" +
	"conveyor/, built with rustc alone).\n\n" +
	"```sh\n./build.sh                       # {{NAME}}.wasm\n./test.sh                        # build, then {{CLI}} plugin test {{NAME}}.wasm\n```\n"

const cPlugin = `/* {{NAME}}: a conveyor-wasm transform plugin. Tags every record with
 * metadata processed_by=<config "tag", default "{{NAME}}"> and drops records
 * with an empty payload. */
#define CONVEYOR_IMPLEMENTATION
#include "conveyor.h"

#include <string.h>

static cv_bytes tag = {(const uint8_t *)"{{NAME}}", sizeof "{{NAME}}" - 1};

static const char *init(const cv_config *cfg) {
    cv_config_get(cfg, "tag", &tag); /* optional */
    return NULL;
}

static int process(const cv_record *r, cv_emitter *out) {
    if (r->payload.len == 0)
        return 0; /* no output: the record is dropped */
    cv_kv md[32];
    if (r->metadata_len >= 32)
        return cv_fail(out, "too much metadata: %u entries", r->metadata_len);
    memcpy(md, r->metadata, r->metadata_len * sizeof *md);
    md[r->metadata_len] = (cv_kv){{(const uint8_t *)"processed_by", 12}, tag};
    cv_record o = *r;
    o.metadata = md;
    o.metadata_len = r->metadata_len + 1;
    cv_counter("tagged", 1);
    cv_emit(out, &o);
    return 0;
}

static const cv_plugin plugin = {.init = init, .process = process};
CONVEYOR_EXPORT_TRANSFORM(plugin)
`

const cBuild = `#!/bin/sh
# Builds {{NAME}}.wasm (Debian: clang lld wasi-libc libclang-rt-14-dev-wasm32).
set -eu
cd "$(dirname "$0")"
${CC:-clang} --target=wasm32-wasi -mexec-model=reactor -O2 -Wall -o {{NAME}}.wasm plugin.c
echo "built {{NAME}}.wasm"
`

const cTestSh = rustTestSh

const cReadme = "# {{NAME}}\n\n" +
	"A conveyor-wasm transform plugin in C (conveyor.h is the SDK, one header).\n\n" +
	"```sh\n./build.sh                       # {{NAME}}.wasm\n./test.sh                        # build, then {{CLI}} plugin test {{NAME}}.wasm\n```\n"
