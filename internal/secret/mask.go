package secret

import (
	"bytes"
	"io"
	"sort"
	"sync"
)

// LogMask replaces secret values in job output.
const LogMask = "***"

// MinMaskLen is the shortest secret value a MaskWriter masks: masking every "a" or "1" would destroy a log
// without protecting anything.
const MinMaskLen = 3

// MaskWriter copies a stream to w with every occurrence of a secret value replaced by LogMask, also where a value
// is split across writes. It holds back only a tail that could be the start of a value, so live output is not
// delayed. Close flushes that tail. Add may be called while another goroutine writes; Write and Close must not be
// called concurrently with each other.
type MaskWriter struct {
	w       io.Writer
	mu      sync.Mutex
	values  [][]byte // longest first, so a value containing another is masked whole
	pending []byte
}

// NewMaskWriter returns a MaskWriter over w for values (those shorter than MinMaskLen are ignored). With no value
// to mask, it still works and passes everything through.
func NewMaskWriter(w io.Writer, values []string) *MaskWriter {
	m := &MaskWriter{w: w}
	m.add(values)
	return m
}

// Add masks values (those shorter than MinMaskLen are ignored) in what is written from now on: a secret learnt
// while the stream runs.
func (m *MaskWriter) Add(values ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.add(values)
}

func (m *MaskWriter) add(values []string) {
	for _, v := range values {
		if len(v) >= MinMaskLen {
			m.values = append(m.values, []byte(v))
		}
	}
	sort.Slice(m.values, func(i, j int) bool { return len(m.values[i]) > len(m.values[j]) })
}

// Write masks p and writes what can no longer be part of a value. It reports len(p) on success.
func (m *MaskWriter) Write(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.values) == 0 {
		return m.w.Write(p)
	}
	m.pending = append(m.pending, p...)
	out, rest := m.mask(m.pending, false)
	if len(out) > 0 {
		if _, err := m.w.Write(out); err != nil {
			return 0, err
		}
	}
	m.pending = append(m.pending[:0], rest...)
	return len(p), nil
}

// Close writes what is held back. It does not close the underlying writer.
func (m *MaskWriter) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.pending) == 0 {
		return nil
	}
	out, _ := m.mask(m.pending, true)
	m.pending = m.pending[:0]
	_, err := m.w.Write(out)
	return err
}

// mask returns b with every complete value replaced, and (unless final) the tail of b that is a proper prefix
// of some value, which must wait for more input.
func (m *MaskWriter) mask(b []byte, final bool) (out, rest []byte) {
	out = make([]byte, 0, len(b))
	for {
		at, n := -1, 0
		for _, v := range m.values {
			if i := bytes.Index(b, v); i >= 0 && (at < 0 || i < at) {
				at, n = i, len(v)
			}
		}
		if at < 0 {
			break
		}
		out = append(out, b[:at]...)
		out = append(out, LogMask...)
		b = b[at+n:]
	}
	if final {
		return append(out, b...), nil
	}
	hold := m.heldTail(b)
	return append(out, b[:len(b)-hold]...), b[len(b)-hold:]
}

// heldTail is the length of the longest suffix of b that is a proper prefix of a value.
func (m *MaskWriter) heldTail(b []byte) int {
	longest := 0
	for _, v := range m.values {
		for k := min(len(v)-1, len(b)); k > longest; k-- {
			if bytes.Equal(b[len(b)-k:], v[:k]) {
				longest = k
				break
			}
		}
	}
	return longest
}
