package httpapi

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/runplane/runplane/internal/secret"
	"github.com/runplane/runplane/internal/store/sqlite"
)

// sealedStore is a SQLite store in t's temporary directory that seals secrets at rest, closed when t ends.
func sealedStore(t *testing.T) *sqlite.Store {
	t.Helper()
	c, err := secret.NewCipher(bytes.Repeat([]byte{1}, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "db"), sqlite.Options{Cipher: c})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
