package connectors_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/conveyor-etl/conveyor-wasm/connectors"
	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

// printer is an Emitter that prints what a source produces.
type printer struct{}

func (printer) Emit(_ context.Context, batch []*record.Record) error {
	for _, r := range batch {
		fmt.Printf("line %d key %q: %s\n", r.Ack.Seq, r.Key, r.Payload)
	}
	return nil
}

func (printer) Reject(_ context.Context, raw []byte, origin string, err error) error {
	reason, _, _ := strings.Cut(err.Error(), ":")
	fmt.Printf("rejected %s %q: %s\n", origin, raw, reason)
	return nil
}

// The engine builds a source from its type name: it looks the spec up,
// decodes the pipeline's YAML into NewConfig's struct, checks and builds it.
func Example_source() {
	spec, _ := connectors.Lookup(connectors.KindSource, "file")
	cfg := spec.NewConfig().(*connectors.FileSourceConfig)
	cfg.Path = "-" // standard input
	cfg.KeyField = "user.id"

	in := `{"user":{"id":"u1"},"n":1}
{"user":{"id":"u2"},"n":
{"user":{"id":"u3"},"n":3}
`
	src, err := connectors.BuildSource(spec, cfg, connectors.Env{Name: "events", Stdin: strings.NewReader(in)})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer src.Close()
	if err := src.Read(context.Background(), printer{}); err != nil {
		fmt.Println(err)
	}
	// Output:
	// rejected stdin:2 "{\"user\":{\"id\":\"u2\"},\"n\":": malformed JSON
	// line 1 key "u1": {"user":{"id":"u1"},"n":1}
	// line 3 key "u3": {"user":{"id":"u3"},"n":3}
}

func Example_sink() {
	spec, _ := connectors.Lookup(connectors.KindSink, "stdout")
	cfg := spec.NewConfig().(*connectors.StdoutSinkConfig)
	cfg.Format = connectors.FormatEnvelope
	sink, err := connectors.BuildSink(spec, cfg, connectors.Env{Name: "out", Stdout: os.Stdout})
	if err != nil {
		fmt.Println(err)
		return
	}
	r := record.New("u1", []byte(`{"amount":12.5}`))
	r.Metadata.Set("tenant", "acme")
	if err := sink.Write(context.Background(), []*record.Record{r}); err != nil {
		fmt.Println(err)
	}
	if err := sink.Close(); err != nil { // Close flushes
		fmt.Println(err)
	}
	// Output:
	// {"key":"u1","payload":{"amount":12.5},"metadata":{"tenant":"acme"}}
}

func ExampleTypes() {
	fmt.Println(connectors.Types(connectors.KindSource))
	fmt.Println(connectors.Types(connectors.KindSink))
	// Output:
	// [file generate]
	// [discard file stdout]
}

func ExampleAppendEnvelope() {
	r := record.New("k", []byte("not json"))
	r.SetTime(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC))
	r.Source = "orders"
	fmt.Println(string(connectors.AppendEnvelope(nil, r)))
	// Output:
	// {"key":"k","payload":"not json","metadata":{},"event_time":"2024-05-01T12:00:00Z","source":"orders"}
}

func ExampleAppendJSONString() {
	fmt.Println(string(connectors.AppendJSONString(nil, "tab\there \"quoted\" \x01 \xff")))
	// Output:
	// "tab\there \"quoted\" \u0001 \ufffd"
}
