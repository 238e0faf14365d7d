package decode

import (
	"reflect"
	"testing"
	"time"
)

type schemaInner struct {
	Name string `yaml:"name,required" doc:"the name"`
}

type schemaKind string

type schemaCfg struct {
	At      Pos               `yaml:"-"`
	Count   int               `yaml:"count" doc:"how many"`
	Size    uint              `yaml:"size"`
	Wait    time.Duration     `yaml:"wait"`
	Kind    schemaKind        `yaml:"kind" doc:"a or b"`
	Mode    string            `yaml:"mode"`
	Inner   *schemaInner      `yaml:"inner"`
	List    []string          `yaml:"list"`
	Map     map[string]int    `yaml:"map"`
	Ratio   float64           `yaml:"ratio"`
	On      bool              `yaml:"on"`
	Ignored string            `yaml:"-"`
	Extra   map[string]string `yaml:"extra,required"`
}

func TestSchema_Object(t *testing.T) {
	s := &Schema{
		Enums:      map[reflect.Type][]string{reflect.TypeOf(schemaKind("")): {"a", "b"}},
		FieldEnums: map[reflect.Type]map[string][]string{reflect.TypeOf(schemaCfg{}): {"mode": {"x"}}},
	}
	o := s.Object(&schemaCfg{Count: 3, Wait: time.Second, On: true})
	props := o["properties"].(map[string]any)
	prop := func(k string) map[string]any { return props[k].(map[string]any) }
	if o["additionalProperties"] != false || !reflect.DeepEqual(o["required"], []string{"extra"}) || len(props) != 11 {
		t.Errorf("object: %v", o)
	}
	if c := prop("count"); c["type"] != "integer" || c["default"] != int64(3) || c["description"] != "how many" {
		t.Errorf("count: %v", c)
	}
	if w := prop("wait"); w["default"] != "1s" || w["anyOf"] == nil {
		t.Errorf("wait: %v", w)
	}
	if k := prop("kind"); !reflect.DeepEqual(k["enum"], []string{"a", "b"}) {
		t.Errorf("kind: %v", k)
	}
	if m := prop("mode"); !reflect.DeepEqual(m["enum"], []string{"x"}) {
		t.Errorf("mode: %v", m)
	}
	in := prop("inner")
	if !reflect.DeepEqual(in["type"], []any{"object", "null"}) || !reflect.DeepEqual(in["required"], []string{"name"}) {
		t.Errorf("inner: %v", in)
	}
	if prop("size")["minimum"] != 0 || prop("on")["default"] != true || prop("ratio")["type"] != "number" {
		t.Errorf("size, on, ratio: %v %v %v", prop("size"), prop("on"), prop("ratio"))
	}
}
