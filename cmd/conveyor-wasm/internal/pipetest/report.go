package pipetest

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"
)

// WriteText reports results as `go test` does: a FAIL block per failed
// case (with -v, a PASS line per passed one too), then a line per file.
func WriteText(w io.Writer, results []Result, verbose bool) {
	for _, r := range results {
		if r.Err != nil {
			fmt.Fprintf(w, "FAIL %s: %v\n", r.Path, r.Err)
			continue
		}
		failed := 0
		for _, c := range r.Cases {
			if c.Failed() {
				failed++
				fmt.Fprintf(w, "--- FAIL: %s (%s)\n", c.Name, ms(c.Duration))
				for _, f := range c.Failures {
					fmt.Fprintf(w, "    %s\n", strings.ReplaceAll(f, "\n", "\n    "))
				}
			} else if verbose {
				fmt.Fprintf(w, "--- PASS: %s (%s)\n", c.Name, ms(c.Duration))
			}
		}
		if failed > 0 {
			fmt.Fprintf(w, "FAIL %s (%d of %d cases failed, %s)\n", r.Path, failed, len(r.Cases), ms(r.Duration))
		} else {
			fmt.Fprintf(w, "ok   %s (%d cases, %s)\n", r.Path, len(r.Cases), ms(r.Duration))
		}
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fs", d.Seconds()) }

// JUnit XML, as CI systems read it (one testsuite per test file).
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	ClassName string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

func secs(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

// WriteJUnit reports results as JUnit XML. A file that could not run is a
// suite with one errored case.
func WriteJUnit(w io.Writer, results []Result) error {
	var all junitSuites
	var total time.Duration
	for _, r := range results {
		s := junitSuite{Name: r.Path, Time: secs(r.Duration)}
		if r.Err != nil {
			s.Errors, s.Tests = 1, 1
			s.Cases = append(s.Cases, junitCase{Name: "load", ClassName: r.Path, Time: "0.000",
				Error: &junitProblem{Message: firstLine(r.Err.Error()), Text: r.Err.Error()}})
		}
		for _, c := range r.Cases {
			jc := junitCase{Name: c.Name, ClassName: r.Path, Time: secs(c.Duration)}
			if c.Failed() {
				s.Failures++
				text := strings.Join(c.Failures, "\n")
				jc.Failure = &junitProblem{Message: firstLine(c.Failures[0]), Text: text}
			}
			s.Tests++
			s.Cases = append(s.Cases, jc)
		}
		all.Tests += s.Tests
		all.Failures += s.Failures
		all.Errors += s.Errors
		total += r.Duration
		all.Suites = append(all.Suites, s)
	}
	all.Time = secs(total)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(all); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}
