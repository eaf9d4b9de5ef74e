package sqlite

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/runplane/runplane/internal/secret"
	"github.com/runplane/runplane/internal/store"
	"github.com/runplane/runplane/internal/store/storetest"
)

// TestRunValuesSealedAtRest checks that a sensitive value a step sets is never in the database's files in
// plaintext, that plain SQL sees it sealed, and that a sealed value moved to another row does not open there.
func TestRunValuesSealedAtRest(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "runplane.db")
	ctx := t.Context()
	const hidden, visible = "s3cret-output-4f1a", "visible-output-9b7c"
	s := openAt(t, path)
	if _, _, err := s.CreateRun(ctx, storetest.NewRun("run-1")); err != nil {
		t.Fatal(err)
	}
	values := []store.RunValue{
		{Run: "run-1", Step: "left", Kind: store.ValueOutput, Name: "token", Value: json.RawMessage(`"` + hidden + `"`),
			Sensitive: true},
		{Run: "run-1", Step: "left", Kind: store.ValueOutput, Name: "shown", Value: json.RawMessage(`"` + visible + `"`)},
	}
	for _, v := range values {
		if err := s.SetRunValue(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	// While open, the data lives in the WAL as well as in the database: check every file.
	checkFiles := func(when string) {
		t.Helper()
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			found = found || bytes.Contains(b, []byte(visible))
			if bytes.Contains(b, []byte(hidden)) {
				t.Errorf("%s: file %s contains the sensitive value %q", when, e.Name(), hidden)
			}
		}
		if !found {
			t.Errorf("%s: no file holds the value %q that is not sensitive: the check reads the wrong files", when, visible)
		}
	}
	checkFiles("while open")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	checkFiles("after close")

	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var text string
	var sealed []byte
	if err := db.QueryRowContext(ctx, `SELECT value, value_enc FROM run_values WHERE name = 'token'`).Scan(&text, &sealed); err != nil {
		t.Fatal(err)
	}
	if text != "" || len(sealed) == 0 || bytes.Contains(sealed, []byte(hidden)) {
		t.Errorf("sensitive row: value %q, value_enc %q; want no value and a sealed value_enc", text, sealed)
	}

	// The right key opens it; moved to another row, it does not open.
	s = openAt(t, path)
	got, err := s.RunValues(ctx, "run-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || string(got[1].Value) != `"`+hidden+`"` || !got[1].Sensitive {
		t.Errorf("RunValues(run-1) = %+v, want the sensitive value opened", got)
	}
	s.Close()
	if _, err := db.ExecContext(ctx, `UPDATE run_values SET value_enc = ?, sensitive = 1 WHERE name = 'shown'`, sealed); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `DELETE FROM run_values WHERE name = 'token'`); err != nil {
		t.Fatal(err)
	}
	s = openAt(t, path)
	defer s.Close()
	_, err = s.RunValues(ctx, "run-1")
	if !errors.Is(err, secret.ErrOpen) {
		t.Errorf("RunValues with a sealed value moved to another row: error %v, want secret.ErrOpen", err)
	}
	if err != nil && bytes.Contains([]byte(err.Error()), []byte(hidden)) {
		t.Errorf("RunValues error %q holds the sensitive value", err)
	}
}
