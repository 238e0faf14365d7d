// Command wrongversion is a test guest that reports ABI version 2.0.
package main

import "github.com/conveyor-etl/conveyor-wasm/plugins/testdata/guests/internal/rawabi"

func init() { rawabi.Version = 0x00020000 }

func main() {}
