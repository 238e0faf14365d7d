package engine

import (
	"encoding/json"
	"io"
	"maps"
	"reflect"
	"slices"

	"github.com/conveyor-etl/conveyor-wasm/connectors"
	"github.com/conveyor-etl/conveyor-wasm/engine/internal/decode"
	"github.com/conveyor-etl/conveyor-wasm/plugins"
)

// SchemaID is the JSON Schema's $id.
const SchemaID = "https://github.com/conveyor-etl/conveyor-wasm/pipeline.schema.json"

// WriteJSONSchema writes the JSON Schema (draft 2020-12) of pipeline files,
// for editors (yaml-language-server: completion, hovers, checks as you
// type). It is generated from the structs that validate pipeline files,
// as the Markdown reference is: every key with its type, description and
// default, the required keys, the values of enumerated keys, and each
// connector's own keys according to the `type` of a source or service.
// It checks the shape of a file; Load checks more (names that must refer
// to something, CEL expressions, the DAG).
func WriteJSONSchema(w io.Writer) error {
	b, err := json.MarshalIndent(pipelineSchema(), "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// pipelineSchema builds the schema.
func pipelineSchema() map[string]any {
	s := &decode.Schema{
		Types: map[reflect.Type]map[string]any{
			reflect.TypeOf(Condition{}): {"anyOf": []any{
				map[string]any{"type": []any{"string", "boolean"}},
				map[string]any{"type": "object", "minProperties": 1, "maxProperties": 1},
			}},
			reflect.TypeOf(Expr{}):   {"type": "string"},
			reflect.TypeOf(Value{}):  {},
			reflect.TypeOf(Config{}): {},
		},
		Enums:      typeEnums(),
		FieldEnums: fieldEnums(),
		Defaults:   map[reflect.Type]any{},
	}
	for _, sec := range docSections() {
		s.Defaults[reflect.TypeOf(sec.cfg).Elem()] = sec.cfg
	}
	root := s.Object(&Pipeline{})
	root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	root["$id"] = SchemaID
	root["title"] = "conveyor-wasm pipeline"
	props := root["properties"].(map[string]any)

	// A source's or a service's own keys depend on its type.
	source := props["sources"].(map[string]any)["items"].(map[string]any)
	withConnectors(s, source, connectorConfigs(connectors.KindSource))
	services := connectorConfigs(connectors.KindSink, connectors.KindLookup)
	services["wasm"] = connectorConfig{summary: "a WebAssembly plugin (transform or lookup)", cfg: defaultWasmConfig()}
	withConnectors(s, props["services"].(map[string]any)["additionalProperties"].(map[string]any), services)
	return root
}

// typeEnums are the values of the enumerated types of pipeline files.
func typeEnums() map[reflect.Type][]string {
	return map[reflect.Type][]string{
		reflect.TypeOf(StageType("")):           stageTypeNames(),
		reflect.TypeOf(UnmatchedPolicy("")):     {string(UnmatchedDrop), string(UnmatchedDeadLetter), string(UnmatchedError)},
		reflect.TypeOf(LatePolicy("")):          {string(LateDeadLetter), string(LateDrop), string(LateAllow), string(LateRoute)},
		reflect.TypeOf(MergeStrategy("")):       {string(MergeEventTime), string(MergeArrival), string(MergeRoundRobin)},
		reflect.TypeOf(FanInWatermark("")):      {string(FanInWatermarkMin), string(FanInWatermarkMax)},
		reflect.TypeOf(LookupMissStrategy("")):  {string(LookupMissSkip), string(LookupMissDrop), string(LookupMissDeadLetter), string(LookupMissDefault), string(LookupMissFail)},
		reflect.TypeOf(LoadBalanceStrategy("")): strategyNames,
	}
}

// fieldEnums are the values of the enumerated string fields of pipeline
// files: the engine's own, the wasm service's runtime and the connectors'
// (connectors.Enumerated).
func fieldEnums() map[reflect.Type]map[string][]string {
	out := map[reflect.Type]map[string][]string{
		reflect.TypeOf(EventTimeConfig{}): {"unit": unitNames, "missing": missingPolicies},
		reflect.TypeOf(SourceWatermark{}): {"future": {"clamp", "dead_letter"}},
		reflect.TypeOf(WasmConfig{}):      {"runtime": plugins.KnownRuntimes()},
	}
	for _, k := range []connectors.Kind{connectors.KindSource, connectors.KindSink, connectors.KindLookup} {
		for _, t := range connectors.Types(k) {
			spec, _ := connectors.Lookup(k, t)
			if e, ok := spec.NewConfig().(connectors.Enumerated); ok {
				out[reflect.Indirect(reflect.ValueOf(e)).Type()] = e.Enums()
			}
		}
	}
	return out
}

// connectorConfig is a connector type's configuration struct (holding its
// defaults) and its summary.
type connectorConfig struct {
	summary string
	cfg     any
}

func connectorConfigs(kinds ...connectors.Kind) map[string]connectorConfig {
	out := map[string]connectorConfig{}
	for _, k := range kinds {
		for _, t := range connectors.Types(k) {
			if _, dup := out[t]; dup {
				continue // a sink and a lookup of one name: the sink's keys
			}
			spec, _ := connectors.Lookup(k, t)
			out[t] = connectorConfig{summary: spec.Summary, cfg: spec.NewConfig()}
		}
	}
	return out
}

// withConnectors makes obj (a source or a service: type, and the engine's
// own keys) accept, by its type, the keys of that connector, and no other.
func withConnectors(s *decode.Schema, obj map[string]any, types map[string]connectorConfig) {
	props := obj["properties"].(map[string]any)
	names := slices.Sorted(maps.Keys(types))
	props["type"].(map[string]any)["enum"] = names
	var all []any
	for _, name := range names {
		c := types[name]
		cs := s.Object(c.cfg)
		then := map[string]any{"properties": cs["properties"]}
		if r, ok := cs["required"]; ok {
			then["required"] = r
		}
		if c.summary != "" {
			then["description"] = c.summary
		}
		all = append(all, map[string]any{
			"if":   map[string]any{"properties": map[string]any{"type": map[string]any{"const": name}}, "required": []any{"type"}},
			"then": then,
		})
	}
	obj["allOf"] = all
	obj["unevaluatedProperties"] = false
}
