// Command badlookup is a test guest whose lookup answers "bad" with a row
// that is not a JSON object, "panic" by panicking (a trap), and any other
// key with {"k":"<key>"}.
package main

import (
	conveyor "github.com/conveyor-etl/conveyor-wasm/sdk/go"
)

func init() {
	conveyor.RegisterLookup(func(key []byte) ([]byte, bool) {
		switch string(key) {
		case "bad":
			return []byte(`["not", "an", "object"]`), true
		case "panic":
			panic("lookup asked to panic")
		}
		return []byte(`{"k":"` + string(key) + `"}`), true
	})
}

func main() {}
