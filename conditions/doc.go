// Package conditions compiles and evaluates the conditions that route
// records through a conveyor-wasm pipeline: edge and fan-out conditions,
// filters, and the value expressions of metadata and event-time stages.
//
// A condition is either a CEL expression (https://cel.dev) or a
// structured condition (And, Or, Not, MetadataEquals, MetadataExists,
// PayloadField). Both are compiled once when the pipeline is loaded and
// evaluated per record; a compiled condition is stateless and safe for
// concurrent use.
//
// # Variables
//
// CEL expressions see one record and the current watermark:
//
//	record.key             string     the record key
//	record.payload         dyn        the JSON payload, parsed on first use
//	record.metadata        map(string, string)
//	record.event_time      timestamp  an error if the record has none
//	record.has_event_time  bool
//	record.source          string     the source (partition) name
//	watermark              timestamp  the stage's output watermark; an error
//	                                  unless passed with EvalWatermark
//
// JSON numbers are int when written as integers (42, -7) and double
// otherwise (4.2, 1e3); int and double compare with each other as numbers
// (record.payload.age > 30.5 and record.payload.count == 3 both work), but
// CEL arithmetic does not mix them: write double(record.payload.n) * 1.5.
//
// The payload is parsed only when an expression reads record.payload, and
// at most once per record however many conditions read it. A malformed
// payload, a missing field or a type mismatch makes evaluation fail with
// an error that names the condition and the cause, for example
//
//	condition "record.payload.user.age > 30": no such key: user
//
// (an *EvalError), which the engine uses as the dead-letter reason. Write
// has(record.payload.user) or record.payload.?user.orValue(...) for
// optional fields.
//
// The CEL standard library is extended with the strings, math and lists
// extensions and optional types.
//
// # Concurrency and cost
//
// Programs and conditions are immutable: any number of goroutines may
// evaluate one of them at once, each on its own record. A record must not
// be evaluated by two goroutines at the same time (its lazy JSON parse is
// not synchronized). Evaluation allocates nothing beyond the values an
// expression creates; the commonest shapes (record.metadata["K"] == "V",
// record.key == "V", "K" in record.metadata) skip the interpreter
// altogether, and so do comparisons of payload fields with literals
// (record.payload.amount > 500, record.payload.country in ["DE", "FR"],
// and &&, || and ! of these) on a payload its source validated: the field
// is read from the bytes without parsing the document. See BENCHMARKS.md
// and RATIONALE.md.
//
// Every expression has a cost limit (DefaultCostLimit; WithCostLimit). An
// expression whose estimated cost can exceed it is rejected by Compile
// with its position; an evaluation that exceeds it fails with an
// *EvalError wrapping ErrCostLimit.
//
// # Errors
//
// Compile errors are *Error values positioned in the user's file, with
// CEL's caret under the expression:
//
//	pipeline.yaml:12:17: undeclared reference to 'recrd.key' (did you mean 'record.key'?)
//	 | recrd.key == "x"
//	 | ^
//
// Give the Env the file's text with WithSourceFile and positions are exact
// for every YAML scalar style, block scalars included.
package conditions
