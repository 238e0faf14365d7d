package conditions

import (
	"fmt"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/ext"
)

// Variable names visible to CEL expressions.
const (
	VarKey          = "record.key"            // string
	VarPayload      = "record.payload"        // dyn: the JSON payload
	VarMetadata     = "record.metadata"       // map(string, string)
	VarEventTime    = "record.event_time"     // timestamp; ErrNoEventTime when absent
	VarHasEventTime = "record.has_event_time" // bool
	VarSource       = "record.source"         // string
	VarWatermark    = "watermark"             // timestamp; ErrNoWatermark when absent
)

// Env is the CEL environment of one pipeline. Create it once with NewEnv
// and compile every condition of the pipeline with it. An Env is safe for
// concurrent use.
type Env struct {
	cel       *cel.Env
	files     map[string][]byte
	costLimit uint64
	sizes     sizeEstimator // what the static cost estimate assumes
}

// EnvOption configures an Env.
type EnvOption func(*Env)

// WithSourceFile gives the Env the text of a configuration file, so that
// errors in expressions read from it (Source.File == name) are positioned
// exactly, whatever the YAML scalar style (plain, quoted with escapes,
// literal or folded block, multi-line). text must not change afterwards.
func WithSourceFile(name string, text []byte) EnvOption {
	return func(e *Env) {
		if e.files == nil {
			e.files = make(map[string][]byte)
		}
		e.files[name] = text
	}
}

// NewEnv returns a new environment declaring the record variables.
func NewEnv(opts ...EnvOption) (*Env, error) {
	ce, err := cel.NewEnv(
		cel.Variable(VarKey, cel.StringType),
		cel.Variable(VarPayload, cel.DynType),
		cel.Variable(VarMetadata, cel.MapType(cel.StringType, cel.StringType)),
		cel.Variable(VarEventTime, cel.TimestampType),
		cel.Variable(VarHasEventTime, cel.BoolType),
		cel.Variable(VarSource, cel.StringType),
		cel.Variable(VarWatermark, cel.TimestampType),
		cel.CrossTypeNumericComparisons(true),
		cel.DefaultUTCTimeZone(true),
		cel.OptionalTypes(),
		ext.Strings(),
		ext.Math(),
		ext.Lists(),
	)
	if err != nil {
		return nil, fmt.Errorf("create CEL environment: %w", err)
	}
	e := &Env{cel: ce, costLimit: DefaultCostLimit, sizes: defaultSizes}
	for _, o := range opts {
		o(e)
	}
	return e, nil
}
