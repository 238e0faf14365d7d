package httpserver

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/conveyor-etl/conveyor-wasm/engine"
)

// chromium finds a headless-capable Chromium: required when CI=true
// (.ci/run installs Debian's chromium), else the test is skipped.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no Chromium on PATH (apt-get install -y chromium): the live page cannot be tested")
	}
	t.Skip("no Chromium on PATH (apt-get install -y chromium; CI=true makes this a failure)")
	return ""
}

// TestPage_InChromium loads the live page in headless Chromium while a
// generate source runs: every node of the pipeline is drawn, and the
// source's rate and total move.
func TestPage_InChromium(t *testing.T) {
	t.Parallel()
	browser := chromium(t)
	pl := loadPlan(t, fmt.Sprintf(examplePipeline, 0)) // count 0: until drained
	srv, r, wait := startRun(t, pl, engine.RunOptions{}, false)
	defer wait()
	defer r.Drain()

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(browser), chromedp.NoSandbox,
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1400, 700))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 60*time.Second)
	defer cancel()

	if err := chromedp.Do(ctx,
		chromedp.Navigate("http://"+srv.Addr()+"/"),
		chromedp.WaitVisible(`body[data-ready="true"]`),
	); err != nil {
		t.Fatal(err)
	}
	ids, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("[data-node-id]")].map(e => e.dataset.nodeId)`))
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, n := range pl.Graph().Nodes {
		want = append(want, n.ID)
	}
	slices.Sort(ids)
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Fatalf("nodes on the page %q, want %q", ids, want)
	}

	// node reads a node's rate and total as the page shows them.
	node := func(id string) (rate, total int64, text string) {
		js := fmt.Sprintf(`(() => { const e = document.querySelector('[data-node-id=%q]'); return [e.dataset.rate, e.dataset.total, e.querySelector(".rate").textContent]; })()`, id)
		attrs, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](js))
		if err != nil {
			t.Fatal(err)
		}
		rate, _ = strconv.ParseInt(attrs[0], 10, 64)
		total, _ = strconv.ParseInt(attrs[1], 10, 64)
		return rate, total, attrs[2]
	}
	_, total0, text0 := node("gen")
	var rate, total int64
	var text string
	for ctx.Err() == nil {
		if rate, total, text = node("gen"); rate > 0 && total > total0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if rate <= 0 || total <= total0 || text == text0 {
		t.Fatalf("the source's numbers did not move: rate %d, total %d -> %d, %q -> %q", rate, total0, total, text0, text)
	}
	// And they keep moving.
	for ctx.Err() == nil {
		if _, t2, _ := node("gen"); t2 > total {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if ctx.Err() != nil {
		t.Fatal("the source's total stopped moving")
	}
	if r, _, _ := node("service:out"); r <= 0 {
		t.Errorf("sink service rate %d, want > 0", r)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100: PNG
	if err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(t.TempDir(), "live.png")
	if err := os.WriteFile(shot, png, 0o644); err != nil || len(png) < 1000 {
		t.Fatalf("screenshot: %v, %d bytes", err, len(png))
	}
	if dir := os.Getenv("CONVEYOR_SCREENSHOT_DIR"); dir != "" { // to look at it
		_ = os.WriteFile(filepath.Join(dir, "live.png"), png, 0o644)
	}
}
