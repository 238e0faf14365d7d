package main

import (
	"reflect"
	"testing"

	"github.com/conveyor-etl/conveyor-wasm/sdk/go/conveyortest"
)

func TestUserTier_Lookup_HitsAndMisses(t *testing.T) {
	p, err := conveyortest.New(conveyortest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	got, err := p.Lookup("u1", "nobody", "u3")
	if err != nil {
		t.Fatal(err)
	}
	want := []conveyortest.LookupResult{
		{Found: true, Row: `{"user_id":"u1","tier":"gold","since":"2021-03-01"}`},
		{},
		{Found: true, Row: `{"user_id":"u3","tier":"bronze","since":"2024-01-09"}`},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("lookup = %+v, want %+v", got, want)
	}
}

func TestUserTier_Lookup_DefaultTier(t *testing.T) {
	p, err := conveyortest.New(conveyortest.Options{Config: map[string]string{"default_tier": "basic"}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	defer func() { defaultRow = nil }()
	got, err := p.Lookup("nobody")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !got[0].Found || got[0].Row != `{"tier":"basic","default":true}` {
		t.Fatalf("lookup = %+v", got)
	}
}

func TestParse_RejectsRowsWithoutID(t *testing.T) {
	if _, err := parse([]byte("{\"tier\":\"gold\"}\n")); err == nil {
		t.Fatal("want an error for a row without user_id")
	}
}
