package connectors

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrFileShrank is wrapped by the error Read returns when a regular input
// file got shorter while it was being read (truncated or rewritten
// underneath the reader): what was read cannot be trusted to be the file's
// content, and the records after the cut are lost.
var ErrFileShrank = errors.New("file shrank while being read")

// shrinkCheckEvery is how many bytes are read between two checks of the
// file's size (besides the check at the end of the file).
const shrinkCheckEvery = 16 << 20

// shrinkCheck reads a regular file and fails with ErrFileShrank if, at the
// end of the file or at a periodic check, the file is shorter than it was
// when it was opened, or the end came before that many bytes were read. A
// file that grows is read to its new end, as before.
type shrinkCheck struct {
	f    *os.File
	size int64 // at open
	read int64 // bytes read so far
	next int64 // check again once read reaches this
}

func (c *shrinkCheck) Read(p []byte) (int, error) {
	n, err := c.f.Read(p)
	c.read += int64(n)
	switch {
	case err == io.EOF:
		if cerr := c.check(true); cerr != nil {
			return n, cerr
		}
	case err == nil && c.read >= c.next:
		c.next = c.read + shrinkCheckEvery
		if cerr := c.check(false); cerr != nil {
			return n, cerr
		}
	}
	return n, err
}

// check compares the file's size now with its size at open (and, at the
// end, with the bytes read).
func (c *shrinkCheck) check(atEOF bool) error {
	fi, err := c.f.Stat()
	if err != nil {
		return fmt.Errorf("stat: %w", err)
	}
	if now := fi.Size(); now < c.size || atEOF && c.read < c.size {
		return fmt.Errorf("%w: %d bytes when opened, %d bytes now, %d bytes read",
			ErrFileShrank, c.size, now, c.read)
	}
	return nil
}
