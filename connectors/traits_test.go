package connectors

import "testing"

func TestConfigTraits(t *testing.T) {
	if !(&FileSinkConfig{}).Truncates() || (&FileSinkConfig{Append: true}).Truncates() {
		t.Fatal("Truncates")
	}
	if (&FileSourceConfig{}).Endless() || !(&FileSourceConfig{Follow: true}).Endless() {
		t.Fatal("Endless")
	}
}
