// Package lookupenrich_test runs the lookup-enrich example end to end.
package lookupenrich_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/conveyor-etl/conveyor-wasm/engine"
	"github.com/conveyor-etl/conveyor-wasm/engine/record"
	"github.com/conveyor-etl/conveyor-wasm/examples/exampletest"
)

func TestExample_LookupEnrich(t *testing.T) {
	dir := exampletest.Copy(t, ".")
	sum := exampletest.Run(t, dir, engine.RunOptions{})
	// 8 orders: 7 written (4 of them twice: gold customers), 1 dead-lettered.
	if sum.In != 8 || sum.Delivered != 7 || sum.DeadLettered != 1 || !sum.Balanced() {
		t.Fatalf("summary: %s", sum)
	}
	read := func(name string) []string { return exampletest.Lines(t, dir, name) }
	type order struct {
		Order    int
		Customer struct{ Name, Tier string }
		Catalog  struct{ Price float64 }
	}
	var got []string
	for _, l := range read("enriched.jsonl") {
		var o order
		if err := json.Unmarshal([]byte(l), &o); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		got = append(got, fmt.Sprintf("%d %s %s %g", o.Order, o.Customer.Name, o.Customer.Tier, o.Catalog.Price))
	}
	want := []string{
		"1 Ada gold 12.5",
		"2 Bob silver 1.2",
		"3  unknown 15", // customer c9 is not in the table: the default
		"4 Cy gold 40",
		"6 Ada gold 1.2",
		"7  unknown 12.5", // no customer_id: the default
		"8 Cy gold 15",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("enriched:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if gold := read("gold.jsonl"); len(gold) != 4 {
		t.Errorf("gold: %d lines, want 4 (orders 1, 4, 6, 8)", len(gold))
	}
	var dead struct {
		Reason, Stage string
		Record        struct{ Payload struct{ Order int } }
	}
	if dl := read("dead-letters.jsonl"); len(dl) != 1 || json.Unmarshal([]byte(dl[0]), &dead) != nil ||
		dead.Stage != "price" || dead.Record.Payload.Order != 5 ||
		dead.Reason != `lookup "price": no match in "catalog" for sku="lamp", region="eu"` {
		t.Errorf("dead letters: %q", dl)
	}
}

// RoutingEngine.Lookup runs one lookup stage on one record, outside a run.
func Example_routingEngineLookup() {
	p, err := engine.Load("pipeline.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	e := engine.NewRoutingEngine()
	for _, payload := range []string{
		`{"order":9,"customer_id":"c2"}`,
		`{"order":10,"customer_id":"c7"}`,
	} {
		res, err := e.Lookup(context.Background(), p, "customer", record.New("", []byte(payload)))
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("found=%t %s\n", res.Found, res.Record.Payload)
	}
	// Output:
	// found=true {"order":9,"customer_id":"c2","customer":{"id":"c2","name":"Bob","tier":"silver","country":"DE"}}
	// found=false {"order":10,"customer_id":"c7","customer":{"tier":"unknown"}}
}
