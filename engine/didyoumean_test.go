package engine

import (
	"strings"
	"testing"
)

// didYouMeanBase is the valid pipeline each case of
// TestLoad_DidYouMean_Cases breaks with one replacement.
const didYouMeanBase = `id: p
settings:
  batch_size: 8
sources:
  - name: in
    type: generate
    count: 10
services:
  out: {type: discard}
  file: {type: file, path: o.jsonl}
  table: {type: static, rows: [{id: 1}], index: [id]}
  plug: {type: wasm, path: x.wasm}
stages:
  - id: keep
    type: filter
    condition: record.payload.active == true
  - id: sink
    type: sink
    service_name: out
edges:
  - {from: in, to: keep}
  - {from: keep, to: sink}
`

// asLookupStage replaces the filter stage keep with a lookup stage.
func asLookupStage(lookup string) [2]string {
	return [2]string{"    type: filter\n    condition: record.payload.active == true\n", "    type: lookup\n    lookup: " + lookup + "\n"}
}

// Every name or enumerated value a pipeline file gives is checked when it
// is loaded, and a near miss is reported at its position with the closest
// valid value (and, for an enumeration, every valid value).
func TestLoad_DidYouMean_Cases(t *testing.T) {
	t.Parallel()
	if _, err := Load(writeFile(t, t.TempDir(), "p.yaml", didYouMeanBase)); err != nil {
		t.Fatalf("the base pipeline does not load: %v", err)
	}
	for _, c := range []struct {
		name string
		edit [2]string // old, new
		want []string
	}{
		// Keys, in every block.
		{"settings key", [2]string{"batch_size: 8", "batch_sise: 8"},
			[]string{`p.yaml:3:3: unknown key "batch_sise" (did you mean "batch_size"?)`}},
		{"retry settings key", [2]string{"batch_size: 8", "sink_retrys: 2"},
			[]string{`p.yaml:3:3: unknown key "sink_retrys" (did you mean "sink_retries"?)`}},
		{"connector key", [2]string{"count: 10", "cont: 10"},
			[]string{`p.yaml:7:5: unknown key "cont" (did you mean "count"?)`}},
		{"event_time key", [2]string{"count: 10", "count: 10\n    event_time: {feld: ts}"},
			[]string{`p.yaml:8:18: unknown key "feld" (did you mean "field"?)`}},
		{"watermark key", [2]string{"count: 10", "count: 10\n    watermark: {max_out_of_ordernes: 1s}"},
			[]string{`p.yaml:8:17: unknown key "max_out_of_ordernes" (did you mean "max_out_of_orderness"?)`}},
		{"service connector key", [2]string{"path: o.jsonl}", "path: o.jsonl, apend: true}"},
			[]string{`p.yaml:10:37: unknown key "apend" (did you mean "append"?)`}},
		{"wasm service key", [2]string{"path: x.wasm}", "path: x.wasm, instance: 2}"},
			[]string{`p.yaml:12:36: unknown key "instance" (did you mean "instances"?)`}},
		{"key_mappings key", asLookupStage("{lookup_service: table, result_field: r, key_mappings: [{record_field: id, lookup_feild: id}]}"),
			[]string{`p.yaml:16:88: unknown key "lookup_feild" (did you mean "lookup_field"?)`}},

		// Names of nodes and services.
		{"dead_letter service", [2]string{"batch_size: 8", "dead_letter: fle"},
			[]string{`p.yaml:3:3: dead_letter: "fle" is not a sink service (did you mean "file"?)`}},
		{"sink service_name", [2]string{"service_name: out", "service_name: oot"},
			[]string{`p.yaml:17:5: stage "sink": unknown service "oot" (did you mean "out"?)`}},
		{"lookup_service", asLookupStage("{lookup_service: tble, result_field: r, key_mappings: [{record_field: id, lookup_field: id}]}"),
			[]string{`p.yaml:14:5: stage "keep": unknown lookup service "tble" (did you mean "table"?)`}},
		{"lookup_field of an indexed table", asLookupStage("{lookup_service: table, result_field: r, key_mappings: [{record_field: id, lookup_field: idd}]}"),
			[]string{`p.yaml:16:69: stage "keep": key_mappings[0]: service "table" cannot look up by "idd" (it can by: id) (did you mean "id"?)`}},
		{"edge to", [2]string{"{from: in, to: keep}", "{from: in, to: kep}"},
			[]string{`p.yaml:21:5: edge to unknown stage "kep" (did you mean "keep"?)`}},
		{"edge from the special source node", [2]string{"{from: in, to: keep}", "{from: sorce, to: keep}"},
			[]string{`p.yaml:21:5: edge from unknown node "sorce" (did you mean "source"?)`}},
		{"else", [2]string{"{from: keep, to: sink}", "{from: keep, to: sink, condition: esle}"},
			[]string{`p.yaml:22:39: condition "esle": undeclared name (did you mean "else"?)`}},
		{"fan_out sink_name", [2]string{"    type: filter\n    condition: record.payload.active == true\n", "    type: fan_out\n    fan_out: {sinks: [{sink_name: snk}]}\n"},
			[]string{`p.yaml:16:23: fan_out sink "snk" is not a stage (did you mean "sink"?)`}},
		{"late_route", [2]string{"batch_size: 8", "late_records: route\n  late_route: kep"},
			[]string{`p.yaml:3:3: late_route: "kep" is not a stage (did you mean "keep"?)`}},

		// Types.
		{"stage type", [2]string{"type: filter", "type: fliter"},
			[]string{`p.yaml:14:5: stage "keep": unknown type "fliter" (known: `, `(did you mean "filter"?)`}},
		{"source type", [2]string{"type: generate", "type: generat"},
			[]string{`p.yaml:5:5: source "in": unknown type "generat" (known: `, `(did you mean "generate"?)`}},
		{"service type", [2]string{"{type: discard}", "{type: discrd}"},
			[]string{`p.yaml:9:8: service "out": unknown type "discrd" (sinks: `, `(did you mean "discard"?)`}},
		{"wasm service type", [2]string{"{type: wasm,", "{type: wsam,"},
			[]string{`p.yaml:12:9: service "plug": unknown type "wsam"`, `(did you mean "wasm"?)`}},

		// Enumerations of the engine.
		{"unmatched", [2]string{"batch_size: 8", "unmatched: dorp"},
			[]string{`p.yaml:3:3: unmatched: unknown policy "dorp" (want drop, dead_letter or error) (did you mean "drop"?)`}},
		{"stage unmatched", [2]string{"service_name: out", "service_name: out\n  - id: x\n    type: filter\n    unmatched: eror\n    condition: 'true'"},
			[]string{`p.yaml:20:5: unmatched: unknown policy "eror" (want drop, dead_letter or error) (did you mean "error"?)`}},
		{"late_records", [2]string{"batch_size: 8", "late_records: rout"},
			[]string{`p.yaml:3:3: late_records: unknown policy "rout" (want dead_letter, drop, allow or route) (did you mean "route"?)`}},
		{"load_balance strategy", [2]string{"condition: record.payload.active == true", "condition: record.payload.active == true\n    replicas: 2\n    load_balance: {strategy: roundrobin}"},
			[]string{`p.yaml:18:19: stage "keep": load_balance: unknown strategy "roundrobin" (want round_robin, hash, random or least_loaded) (did you mean "round_robin"?)`}},
		{"fan_out strategy", [2]string{"    type: filter\n    condition: record.payload.active == true\n", "    type: fan_out\n    fan_out: {sinks: [{sink_name: sink}], strategy: hsh}\n"},
			[]string{`p.yaml:16:14: fan_out: unknown strategy "hsh" (want round_robin, hash, random or least_loaded) (did you mean "hash"?)`}},
		{"fan_in merge_strategy", [2]string{"    type: filter\n    condition: record.payload.active == true\n", "    type: fan_in\n    fan_in: {sources: [{source_name: in}], merge_strategy: arival}\n"},
			[]string{`p.yaml:16:13: stage "keep": unknown merge_strategy "arival" (want event_time, arrival or round_robin) (did you mean "arrival"?)`}},
		{"fan_in watermark", [2]string{"    type: filter\n    condition: record.payload.active == true\n", "    type: fan_in\n    fan_in: {sources: [{source_name: in}], watermark: mni}\n"},
			[]string{`stage "keep": unknown watermark "mni" (want min or max) (did you mean "min"?)`}},
		{"watermark future", [2]string{"count: 10", "count: 10\n    watermark: {max_future: 1m, future: clmp}"},
			[]string{`source "in": `, `clmp`, `(did you mean "clamp"?)`}},
		{"late_route names a source", [2]string{"batch_size: 8", "late_records: route\n  late_route: inn"},
			[]string{`p.yaml:3:3: late_route: "inn" is not a stage (did you mean "sink"?)`}},
		{"miss_strategy", asLookupStage("{lookup_service: table, result_field: r, key_mappings: [{record_field: id, lookup_field: id}], miss_strategy: skp}"),
			[]string{`p.yaml:16:13: stage "keep": unknown miss_strategy "skp" (want skip, drop, dead_letter, default or fail) (did you mean "skip"?)`}},
		{"event_time unit", [2]string{"count: 10", "count: 10\n    event_time: {field: ts, unit: msec}"},
			[]string{`p.yaml:8:17: event_time: unknown unit "msec" (want s, ms, us, ns or rfc3339) (did you mean "ms"?)`}},
		{"event_time missing", [2]string{"count: 10", "count: 10\n    event_time: {field: ts, missing: drp}"},
			[]string{`p.yaml:8:17: event_time: unknown missing policy "drp" (want dead_letter, drop or use_processing_time) (did you mean "drop"?)`}},
		{"wasm runtime", [2]string{"path: x.wasm}", "path: x.wasm, runtime: wazro}"},
			[]string{`p.yaml:12:45: service "plug": unknown runtime "wazro" (want wazero or wasmtime) (did you mean "wazero"?)`}},

		// Enumerations of the connectors, at the key's value.
		{"file source codec", [2]string{"type: generate\n    count: 10", "type: file\n    path: in.jsonl\n    codec: jsonlines"},
			[]string{`p.yaml:8:12: source "in": unknown codec "jsonlines" (want json_lines or lines) (did you mean "json_lines"?)`}},
		{"file sink sync", [2]string{"path: o.jsonl}", "path: o.jsonl, sync: flsh}"},
			[]string{`p.yaml:10:43: service "file": unknown sync policy "flsh" (want none or flush) (did you mean "flush"?)`}},
		{"file sink format", [2]string{"path: o.jsonl}", "path: o.jsonl, format: envelop}"},
			[]string{`p.yaml:10:45: service "file": unknown format "envelop" (want payload or envelope) (did you mean "envelope"?)`}},
		{"stdout format", [2]string{"{type: discard}", "{type: stdout, format: payloads}"},
			[]string{`p.yaml:9:31: service "out": unknown format "payloads" (want payload or envelope) (did you mean "payload"?)`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			src := strings.Replace(didYouMeanBase, c.edit[0], c.edit[1], 1)
			if src == didYouMeanBase {
				t.Fatalf("replacement of %q did not apply", c.edit[0])
			}
			err := compileErr(t, src)
			if err == nil {
				t.Fatalf("loaded:\n%s", src)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("missing %q in:\n%v", w, err)
				}
			}
			if strings.Contains(err.Error(), "undeclared reference") {
				t.Errorf("a CEL error besides the suggestion:\n%v", err) // "esle"
			}
		})
	}
}
