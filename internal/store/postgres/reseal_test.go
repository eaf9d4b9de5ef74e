package postgres

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"io/fs"
	"log/slog"
	"path"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/secret"
	"github.com/runplane/runplane/internal/store/postgres/pgtest"
)

// legacySeal seals plain exactly as runplane did before sealed values were bound to their row: AES-256-GCM with
// version byte 1, a random nonce and no additional data, under testCipher's key.
func legacySeal(t *testing.T, plain string) []byte {
	t.Helper()
	block, err := aes.NewCipher(bytes.Repeat([]byte{0x5a}, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, 1+aead.NonceSize())
	out[0] = 1
	if _, err := rand.Read(out[1:]); err != nil {
		t.Fatal(err)
	}
	return aead.Seal(out, out[1:], []byte(plain), nil)
}

// TestResealLegacyRunners opens a database whose runners an older runplane sealed without binding them to their
// row: the migration reseals them bound, they open as before, a value moved to another runner no longer opens,
// and an unbound value planted after the migration is refused.
func TestResealLegacyRunners(t *testing.T) {
	ctx := t.Context()
	dsn := pgtest.NewDatabase(t)
	before := fstest.MapFS{}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		prefix, _, _ := strings.Cut(path.Base(n), "_")
		if v, _ := strconv.Atoi(prefix); v < 7 {
			b, err := fs.ReadFile(migrations, n)
			if err != nil {
				t.Fatal(err)
			}
			before[n] = &fstest.MapFile{Data: b}
		}
	}
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := migrate(ctx, pool, before, slog.New(slog.DiscardHandler), nil); err != nil {
		t.Fatal(err)
	}
	old := []api.Runner{
		{Name: "a", GitURL: "https://x/a.git", Branch: "main", Token: "tok-a", Secret: map[string]string{"K": "v-a"}},
		{Name: "b", GitURL: "https://x/b.git", Branch: "main", Token: "tok-b"},
		{Name: "c", GitURL: "https://x/c.git", Branch: "main"},
	}
	for _, r := range old {
		var tok, sec []byte
		if r.Token != "" {
			tok = legacySeal(t, r.Token)
		}
		if r.Secret != nil {
			sec = legacySeal(t, `{"K":"`+r.Secret["K"]+`"}`)
		}
		if _, err := pool.Exec(ctx, `INSERT INTO runners (name, image, git_url, branch, token_enc, secret_enc, create_time, update_time)
			VALUES ($1, '', $2, $3, $4, $5, now(), now())`, r.Name, r.GitURL, r.Branch, tok, sec); err != nil {
			t.Fatal(err)
		}
	}

	s, err := Open(ctx, dsn, testOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range old {
		got, err := s.GetRunner(ctx, want.Name)
		if err != nil {
			t.Fatalf("GetRunner(%q) after migrating: %v", want.Name, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("GetRunner(%q) after migrating (-want +got):\n%s", want.Name, diff)
		}
	}
	s.Close()

	var tokA []byte
	if err := pool.QueryRow(ctx, `SELECT token_enc FROM runners WHERE name = 'a'`).Scan(&tokA); err != nil {
		t.Fatal(err)
	}
	if secret.IsLegacy(tokA) {
		t.Fatalf("runner a's token is still sealed unbound after the migration")
	}
	// A database writer copies a's token into b, and plants an unbound value in c.
	if _, err := pool.Exec(ctx, `UPDATE runners SET token_enc = $1 WHERE name = 'b'`, tokA); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE runners SET token_enc = $1 WHERE name = 'c'`, legacySeal(t, "planted")); err != nil {
		t.Fatal(err)
	}
	s = openAt(t, dsn)
	for _, name := range []string{"b", "c"} {
		if got, err := s.GetRunner(ctx, name); !errors.Is(err, secret.ErrOpen) {
			t.Errorf("GetRunner(%q) with a token sealed elsewhere = %+v, %v; want secret.ErrOpen", name, got, err)
		}
	}
	if got, err := s.GetRunner(ctx, "a"); err != nil || got.Token != "tok-a" {
		t.Errorf("GetRunner(a) = %+v, %v; want its own token", got, err)
	}
}
