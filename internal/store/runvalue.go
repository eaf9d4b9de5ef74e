package store

import (
	"encoding/json"
	"fmt"

	"github.com/runplane/runplane/internal/secret"
)

// The kinds of a RunValue.
const (
	ValueOutput = "output"
	ValueState  = "state"
)

// RunValueBinding is what a sealed value of a run is bound to (AES-GCM additional data): the run, step, kind and
// name, each quoted so that no two values share a binding. A sealed value copied into another row does not open
// there.
func RunValueBinding(run, step, kind, name string) string {
	return fmt.Sprintf("run/%q/%q/%q/%q", run, step, kind, name)
}

// SealRunValue returns what backends store of v: its JSON text when it is not sensitive (sealed nil), else its
// value sealed bound to its row (text empty). Backends call it on every value they write, so no sensitive value
// is kept in plaintext.
func SealRunValue(c *secret.Cipher, v RunValue) (text string, sealed []byte, err error) {
	if !v.Sensitive {
		return string(v.Value), nil, nil
	}
	sealed, err = c.Seal(v.Value, RunValueBinding(v.Run, v.Step, v.Kind, v.Name))
	if err != nil {
		return "", nil, fmt.Errorf("run %q step %q: seal %s %q: %w", v.Run, v.Step, v.Kind, v.Name, err)
	}
	return "", sealed, nil
}

// OpenRunValue fills v.Value from what SealRunValue stored for v's row: text when v is not sensitive, else
// sealed, opened.
func OpenRunValue(c *secret.Cipher, v *RunValue, text string, sealed []byte) error {
	if !v.Sensitive {
		if text != "" {
			v.Value = json.RawMessage(text)
		}
		return nil
	}
	b, err := c.Open(sealed, RunValueBinding(v.Run, v.Step, v.Kind, v.Name))
	if err != nil {
		return fmt.Errorf("run %q step %q: open %s %q (is this the key the store was created with, and the row it "+
			"was sealed for?): %w", v.Run, v.Step, v.Kind, v.Name, err)
	}
	if len(b) > 0 {
		v.Value = json.RawMessage(b)
	}
	return nil
}
