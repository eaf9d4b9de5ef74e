package postgres

import (
	"bytes"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
	"github.com/runplane/runplane/internal/store/postgres/pgtest"
	"github.com/runplane/runplane/internal/store/storetest"
)

func TestEncryptionAtRest(t *testing.T) {
	// A server of its own: the test reads the cluster's files, which then hold this test's data only.
	srv := pgtest.NewServer(t)
	dsn := srv.CreateDatabase(t)
	db, err := urlDatabase(dsn)
	if err != nil {
		t.Fatal(err)
	}
	s := openAt(t, dsn)
	ctx := t.Context()
	secrets := []string{"tok3n-OLD-plaintext", "tok3n-NEW-plaintext", "s3cret-value-one", "s3cret-value-two", "s3cret-value-three", "pull-s3cret-plaintext",
		"s3cret-output-plaintext", "webhook-s3cret-plaintext"}
	// Stored in plaintext on purpose: finding it shows that the checks below look where the data is.
	const visible = "https://git.example.com/visible-url-4c2e.git"
	r := api.Runner{Name: "r", GitURL: visible, Token: secrets[0], Secret: map[string]string{"ONE": secrets[2], "TWO": secrets[3]}}
	if err := s.CreateRunner(ctx, r); err != nil {
		t.Fatal(err)
	}
	r.Token, r.Secret["THREE"] = secrets[1], secrets[4]
	r.ImagePullSecret = `{"auths":{"registry.example.com":{"username":"u","password":"` + secrets[5] + `"}}}`
	if err := s.UpdateRunner(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateRunner(ctx, api.Runner{Name: "r2", GitURL: "https://x/z.git", Token: secrets[1]}); err != nil {
		t.Fatal(err)
	}
	// A webhook's secret is sealed too.
	owner, err := s.CreateUser(ctx, store.User{User: api.User{Username: "hooker", Provider: api.ProviderLocal}})
	if err != nil {
		t.Fatal(err)
	}
	hook, err := s.CreateWebhook(ctx, api.Webhook{Owner: owner.ID, Task: "t", Secret: secrets[7]})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetWebhook(ctx, hook.ID); err != nil || got.Secret != secrets[7] {
		t.Errorf("GetWebhook() = %+v, %v; want its secret opened", got, err)
	}
	// A step's sensitive output is sealed too.
	if _, _, err := s.CreateRun(ctx, storetest.NewRun("run-1")); err != nil {
		t.Fatal(err)
	}
	if err := s.SetRunValue(ctx, store.RunValue{Run: "run-1", Step: "left", Kind: store.ValueOutput, Name: "token",
		Value: []byte(`"` + secrets[6] + `"`), Sensitive: true}); err != nil {
		t.Fatal(err)
	}
	if vs, err := s.RunValues(ctx, "run-1"); err != nil || len(vs) != 1 || string(vs[0].Value) != `"`+secrets[6]+`"` {
		t.Errorf("RunValues(run-1) = %+v, %v; want the sensitive output opened", vs, err)
	}
	// As text, a bytea column shows its bytes in hex.
	contains := func(b []byte, s string) bool {
		return bytes.Contains(b, []byte(s)) || bytes.Contains(b, []byte(hex.EncodeToString([]byte(s))))
	}

	// Plain SQL sees only sealed values: every row of every table, as text.
	conn := connect(t, srv.SuperuserDSN(db))
	rows, err := conn.Query(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = 'public'`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, table := range tables {
		rows, err := conn.Query(ctx, `SELECT t::text FROM `+pgx.Identifier{table}.Sanitize()+` t`)
		if err != nil {
			t.Fatal(err)
		}
		texts, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		for _, text := range texts {
			found = found || contains([]byte(text), visible)
			for _, sec := range secrets {
				if contains([]byte(text), sec) {
					t.Errorf("table %s holds the plaintext %q: %s", table, sec, text)
				}
			}
		}
	}
	if !found {
		t.Errorf("no row holds the runner's git URL %q: the check reads the wrong database", visible)
	}
	var sealed int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM runners WHERE token_enc IS NOT NULL`).Scan(&sealed); err != nil || sealed != 2 {
		t.Errorf("runners with a sealed token = %d, %v; want 2", sealed, err)
	}

	// Nor do the server's files: the write-ahead log and the database's own, flushed by a checkpoint.
	if _, err := conn.Exec(ctx, `CHECKPOINT`); err != nil {
		t.Fatal(err)
	}
	var oid uint32
	if err := conn.QueryRow(ctx, `SELECT oid FROM pg_database WHERE datname = $1`, db).Scan(&oid); err != nil {
		t.Fatal(err)
	}
	found = false
	data := filepath.Join(srv.Dir, "data")
	for _, dir := range []string{filepath.Join(data, "pg_wal"), filepath.Join(data, "base", strconv.FormatUint(uint64(oid), 10))} {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			found = found || bytes.Contains(b, []byte(visible))
			for _, sec := range secrets {
				if bytes.Contains(b, []byte(sec)) {
					t.Errorf("server file %s holds the plaintext %q", path, sec)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if !found {
		t.Errorf("no server file holds the runner's git URL %q: the check reads the wrong files", visible)
	}
}
