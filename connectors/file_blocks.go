package connectors

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
)

// The parallel read path of a regular file. One reader goroutine reads large
// blocks, cuts each at its last newline (the partial line after it is carried
// into the next block) and numbers its lines by counting newlines; workers
// split and validate blocks into records; the calling goroutine takes the
// blocks back in input order and hands their records and rejects to the
// Emitter exactly as the one-goroutine path would, in the same batches.
//
//	reader --order--> emitter (Read's goroutine): waits for each block's done
//	       \--jobs--> workers: parse, close(done)
//
// A block enters order before jobs, so at most cap(order)+1 blocks are in
// flight, whatever the workers and the Emitter do. Payloads alias the
// blocks, which are never reused.

// block is one parse job: whole lines of one file (only the file's last line
// may lack its newline) and the number of the first. A block may instead
// carry an over-long line cut short by the reader, or a read error, for the
// emitter to report in their place in the input.
type block struct {
	buf       []byte
	start     int64 // the offset of buf (or long) in the file
	firstLine int64
	lines     int    // lines in buf, counting an unterminated last one
	long      []byte // the first max_line_bytes of line firstLine, too long
	err       error  // the read failed after the blocks before this one
	// end marks the end of the file: start and firstLine are then the
	// file's size and its number of lines (the frontier after an over-long
	// last line).
	end bool

	// Set by a worker before done is closed.
	recs    []slot
	rejects []blockReject
	blanks  int
	done    chan struct{}
}

// blockReject is a line of a block that did not become a record.
type blockReject struct {
	at     int // the number of the block's records before it
	line   int64
	start  int64 // the line's offset in the file
	raw    []byte
	origin string
	err    error
}

// readParallel reads one regular file with workers parse goroutines.
func (s *fileSource) readParallel(ctx context.Context, out Emitter, r io.Reader, name string, workers int) error {
	return s.readParallelAt(ctx, out, r, name, workers, readAt{})
}

// readParallelAt is readParallel from a position (r is there already),
// tracked.
func (s *fileSource) readParallelAt(ctx context.Context, out Emitter, r io.Reader, name string, workers int, at readAt) error {
	ictx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	order := make(chan *block, 2*workers+2)
	jobs := make(chan *block, workers)
	send := func(b *block) bool {
		b.done = make(chan struct{})
		parse := b.buf != nil
		if !parse {
			close(b.done)
		}
		select {
		case order <- b:
		case <-ictx.Done():
			return false
		}
		if parse {
			select {
			case jobs <- b:
			case <-ictx.Done():
				return false
			}
		}
		return true
	}
	wg.Add(1 + workers)
	go func() {
		defer wg.Done()
		defer close(order)
		defer close(jobs)
		s.readBlocks(r, at.from, send)
	}()
	p := s.parser()
	for range workers {
		go func() {
			defer wg.Done()
			for {
				select {
				case b, ok := <-jobs:
					if !ok {
						return
					}
					s.parseBlock(b, &p, name)
					close(b.done)
				case <-ictx.Done():
					return
				}
			}
		}()
	}

	e := newEmitState(ctx, out, s.env.BatchSize)
	e.track(at.tr, at.from, s.env.Name)
	for {
		var b *block
		select {
		case x, ok := <-order:
			if !ok {
				if err := ctx.Err(); err != nil {
					return err // the reader stopped early
				}
				return e.flush()
			}
			b = x
		case <-ctx.Done():
			return ctx.Err()
		}
		select {
		case <-b.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		next := 0
		for _, rj := range b.rejects {
			for ; next < rj.at; next++ {
				if err := e.add(&b.recs[next]); err != nil {
					return err
				}
			}
			if err := e.reject(rj.raw, rj.origin, rj.line, rj.start, rj.err); err != nil {
				return err
			}
		}
		for ; next < len(b.recs); next++ {
			if err := e.add(&b.recs[next]); err != nil {
				return err
			}
		}
		e.blanks += b.blanks
		if b.end {
			e.fr = filePos{off: b.start, line: b.firstLine}
		}
		if b.buf != nil {
			e.fr = filePos{off: b.start + int64(len(b.buf)), line: b.firstLine + int64(b.lines) - 1}
		}
		if b.long != nil {
			// The frontier stays before the long line until a later
			// block (or the end) says where it ended.
			if err := e.reject(b.long, origin(name, b.firstLine), b.firstLine, b.start, s.tooLong()); err != nil {
				return err
			}
		}
		if b.err != nil {
			// What was read before the error is good: hand it over.
			_ = e.flush()
			return fmt.Errorf("read %s: %w", name, b.err)
		}
	}
}

// readBlocks reads r, which is at position from, to its end in blocks of
// s.chunk bytes (more while a line longer than that is still within
// max_line_bytes) and sends them in order. It stops when send returns
// false.
func (s *fileSource) readBlocks(r io.Reader, from filePos, send func(*block) bool) {
	var (
		carry    []byte // the partial line after the last block's newline
		off      = from.off
		spare    []byte      // a buffer nothing points into, to read into again
		skipping bool        // inside an over-long line, discarding until newline
		line     = from.line // lines sent so far
	)
	// dispatch sends whole lines, cut into jobs of about s.blockLines
	// lines.
	dispatch := func(b []byte) bool {
		n := bytes.Count(b, newline)
		if b[len(b)-1] != '\n' {
			n++
		}
		for len(b) > 0 {
			piece, pn := b, n
			if n > s.blockLines {
				target := max(1, int(int64(len(b))*int64(s.blockLines)/int64(n)))
				if target < len(b) {
					if i := bytes.IndexByte(b[target-1:], '\n'); i >= 0 && target+i < len(b) {
						piece = b[:target+i]
						pn = bytes.Count(piece, newline)
					}
				}
			}
			if !send(&block{buf: piece, start: off, firstLine: line + 1, lines: pn}) {
				return false
			}
			line += int64(pn)
			off += int64(len(piece))
			b, n = b[len(piece):], n-pn
		}
		return true
	}
	for {
		var buf []byte
		if size := max(s.chunk, 2*len(carry)); cap(spare) >= size {
			buf, spare = spare[:0], nil
		} else {
			buf = make([]byte, 0, size)
		}
		buf = append(buf, carry...)
		n, err := fill(r, buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		eof := err == io.EOF
		if eof {
			err = nil
		}
		carry = nil
		if skipping {
			i := bytes.IndexByte(buf, '\n')
			if i < 0 {
				off += int64(len(buf))
				spare = buf
				buf = nil
			} else {
				off += int64(i + 1)
				buf, skipping = buf[i+1:], false
			}
		}
		if last := bytes.LastIndexByte(buf, '\n'); last >= 0 {
			if !dispatch(buf[: last+1 : last+1]) {
				return
			}
			carry = buf[last+1:]
		} else {
			carry = buf
		}
		// The carried line is too long already, unless the one byte too
		// many is the \r of a \r\n still to come.
		if rest := len(carry); rest > s.maxLine+1 || rest == s.maxLine+1 && carry[rest-1] != '\r' {
			line++
			if !send(&block{long: carry[:s.maxLine:s.maxLine], start: off, firstLine: line}) {
				return
			}
			off += int64(len(carry))
			carry, skipping = nil, true
		}
		if err != nil {
			send(&block{err: err})
			return
		}
		if eof {
			if len(carry) > 0 && !dispatch(carry[:len(carry):len(carry)]) {
				return
			}
			send(&block{end: true, start: off, firstLine: line})
			return
		}
	}
}

var newline = []byte{'\n'}

// fill reads into p until it is full, at the end of r, or at an error.
func fill(r io.Reader, p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m, err := r.Read(p[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// parseBlock splits a block into lines and parses them as readSeq does.
func (s *fileSource) parseBlock(b *block, p *lineParser, name string) {
	slab := make([]slot, b.lines)
	k := 0
	lineNo := b.firstLine
	for buf, start := b.buf, b.start; len(buf) > 0; lineNo++ {
		var line []byte
		lineStart := start
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			line, buf = buf[:i:i], buf[i+1:]
			start += int64(i + 1)
		} else {
			line, buf = buf, nil
		}
		line = trimCR(line)
		if len(line) > s.maxLine {
			b.rejects = append(b.rejects, blockReject{at: k, line: lineNo, start: lineStart, raw: line[:s.maxLine:s.maxLine], origin: origin(name, lineNo), err: s.tooLong()})
			continue
		}
		switch kind, err := p.parse(line, lineNo, &slab[k]); kind {
		case lineBlank:
			b.blanks++
		case lineReject:
			b.rejects = append(b.rejects, blockReject{at: k, line: lineNo, start: lineStart, raw: line, origin: origin(name, lineNo), err: err})
		default:
			slab[k].start = lineStart
			k++
		}
	}
	b.recs = slab[:k]
}
