//go:build race

package connectors

// raceEnabled: the race detector slows the big file source tests about
// tenfold, so they read fewer lines under it.
const raceEnabled = true
