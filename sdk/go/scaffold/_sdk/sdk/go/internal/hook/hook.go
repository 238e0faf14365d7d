// Package hook connects package conveyor to package conveyortest without
// widening conveyor's public API: on native (non-wasip1) builds conveyor sets
// these variables from its init function, and conveyortest uses them to
// stand in for the host and to drive a plugin through the frame protocol.
package hook

// Host is the host side of the ABI v1 imports (log_v1, config_get_v1,
// clock_now_v1, metric_add_v1).
type Host interface {
	Log(level int32, msg string)
	Config(key string) (string, bool)
	Now() int64
	MetricAdd(name string, delta int64)
}

// Guest is one plugin instance driven through the frame protocol, as the
// conveyor_init, conveyor_process and conveyor_close exports drive it.
type Guest interface {
	// Init decodes a config frame and runs the plugin's OnInit hook.
	Init(config []byte) error
	// Process turns an input batch frame into an output batch frame, valid
	// until the next call.
	Process(batch []byte) ([]byte, error)
	// Lookup turns a lookup request frame into a lookup result frame,
	// valid until the next call (ABI 1.1).
	Lookup(request []byte) ([]byte, error)
	// Close runs the plugin's OnClose hook.
	Close()
}

var (
	// SetHost replaces the host the SDK calls; nil restores the default.
	// It is nil on wasip1 builds, where the host is the real one.
	SetHost func(Host)
	// NewGuest returns a fresh instance of the plugin registered in this
	// process. It is nil on wasip1 builds.
	NewGuest func() Guest
)
