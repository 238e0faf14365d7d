// Command initerror is a test guest whose conveyor_init fails when the
// config has a key "fail", with its value in the message.
package main

import (
	"fmt"

	"github.com/conveyor-etl/conveyor-wasm/plugins/testdata/guests/internal/rawabi"
)

func init() {
	rawabi.Init = func(cfg map[string]string) error {
		if v, ok := cfg["fail"]; ok {
			return fmt.Errorf("init refused: %s", v)
		}
		return nil
	}
}

func main() {}
