package c_test

import (
	"bytes"
	"testing"

	c "github.com/conveyor-etl/conveyor-wasm/sdk/c"
)

func TestHeader_Embedded(t *testing.T) {
	if !bytes.Contains(c.Header, []byte("#define CV_ABI_MINOR 1")) {
		t.Fatal("conveyor.h is not embedded")
	}
}
