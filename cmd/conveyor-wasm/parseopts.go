package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"

	"github.com/conveyor-etl/conveyor-wasm/engine"
	"github.com/urfave/cli/v2"
)

// pipelineFlags are the flags of the commands that load a pipeline: the
// environment its ${VAR} references read and overrides of single values.
func pipelineFlags() []cli.Flag {
	return []cli.Flag{
		&cli.GenericFlag{Name: "set", Value: &repeated{}, Usage: "override one value of the pipeline, `PATH=VALUE` (repeatable): PATH is keys separated by dots, a list element by its name or id or index (settings.batch_size=10, sources.in.path=in.jsonl, edges.0.to=out); VALUE is YAML (10 is a number, '\"10\"' a string)"},
		&cli.GenericFlag{Name: "env-file", Value: &repeated{}, Usage: "read variables for ${VAR} references from this `FILE` of KEY=VALUE lines (repeatable; # starts a comment); they are not exported to plugins, and the process environment wins"},
	}
}

// repeated is a repeatable string flag kept verbatim (a StringSliceFlag
// splits values at commas: `--set 'tags=[a, b]'` must stay whole).
type repeated struct{ values []string }

func (r *repeated) Set(s string) error { r.values = append(r.values, s); return nil }
func (r *repeated) String() string     { return strings.Join(r.values, " ") }

func repeatedValues(c *cli.Context, name string) []string {
	if r, ok := c.Generic(name).(*repeated); ok {
		return r.values
	}
	return nil
}

// parseOptions builds the engine's parse options from --set and
// --env-file.
func parseOptions(c *cli.Context) (engine.ParseOptions, error) {
	o := engine.ParseOptions{Sets: repeatedValues(c, "set")}
	files := repeatedValues(c, "env-file")
	if len(files) == 0 {
		return o, nil
	}
	vars := map[string]string{}
	for _, f := range files {
		if err := readEnvFile(f, vars); err != nil {
			return o, err
		}
	}
	o.Env = func(name string) (string, bool) {
		if v, ok := os.LookupEnv(name); ok {
			return v, true
		}
		v, ok := vars[name]
		return v, ok
	}
	return o, nil
}

// readEnvFile adds the variables of an env file to vars: KEY=VALUE lines,
// optionally after "export "; blank lines and lines starting with # are
// skipped; a value in single or double quotes is taken verbatim between
// them, an unquoted one ends at " #" (a comment) and is trimmed.
func readEnvFile(path string, vars map[string]string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("--env-file: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		key, val, ok := strings.Cut(line, "=")
		key = strings.TrimSpace(key)
		if !ok || !envName(key) {
			return fmt.Errorf("%s:%d: expected KEY=VALUE (KEY of letters, digits and _), got %q", path, n, sc.Text())
		}
		val = strings.TrimSpace(val)
		if len(val) >= 2 && (val[0] == '"' || val[0] == '\'') {
			end := strings.IndexByte(val[1:], val[0])
			if end < 0 {
				return fmt.Errorf("%s:%d: unterminated %c quote", path, n, val[0])
			}
			val = val[1 : end+1]
		} else if i := strings.Index(val, " #"); i >= 0 {
			val = strings.TrimSpace(val[:i])
		}
		vars[key] = val
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("--env-file %s: %w", path, err)
	}
	return nil
}

func envName(s string) bool {
	for i, r := range s {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return s != ""
}
