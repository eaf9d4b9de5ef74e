package auth

import (
	"errors"
	"testing"

	"github.com/runplane/runplane/api"
)

func rootHash(t *testing.T, u *users) string {
	t.Helper()
	r, err := u.GetUserByName(t.Context(), api.ProviderLocal, RootUser)
	if err != nil {
		t.Fatalf("root: %v", err)
	}
	return r.PasswordHash
}

func checkPassword(t *testing.T, hash, password string, want bool) {
	t.Helper()
	ok, err := VerifyPassword(hash, password)
	if err != nil || ok != want {
		t.Errorf("VerifyPassword(root, %q) = %v, %v, want %v", password, ok, err, want)
	}
}

func TestEnsureRootGenerates(t *testing.T) {
	t.Parallel()
	u := newUsers()
	gen, err := EnsureRoot(t.Context(), u, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(gen) < 20 {
		t.Fatalf("generated password %q is too short", gen)
	}
	checkPassword(t, rootHash(t, u), gen, true)
	again, err := EnsureRoot(t.Context(), u, "")
	if err != nil || again != "" {
		t.Errorf("second EnsureRoot = %q, %v, want \"\", nil (generated only once)", again, err)
	}
	checkPassword(t, rootHash(t, u), gen, true)

	other := newUsers()
	gen2, err := EnsureRoot(t.Context(), other, "")
	if err != nil {
		t.Fatal(err)
	}
	if gen2 == gen {
		t.Errorf("two servers generated the same root password")
	}
}

func TestEnsureRootConfigured(t *testing.T) {
	t.Parallel()
	u := newUsers()
	gen, err := EnsureRoot(t.Context(), u, "configured-pw")
	if err != nil || gen != "" {
		t.Fatalf("EnsureRoot(configured) = %q, %v, want \"\", nil", gen, err)
	}
	checkPassword(t, rootHash(t, u), "configured-pw", true)

	// Unchanged configuration leaves the hash alone.
	before := rootHash(t, u)
	if _, err := EnsureRoot(t.Context(), u, "configured-pw"); err != nil {
		t.Fatal(err)
	}
	if after := rootHash(t, u); after != before {
		t.Errorf("EnsureRoot with the same password rewrote the hash")
	}

	// A changed configuration resets it.
	if _, err := EnsureRoot(t.Context(), u, "new-pw"); err != nil {
		t.Fatal(err)
	}
	checkPassword(t, rootHash(t, u), "new-pw", true)
	checkPassword(t, rootHash(t, u), "configured-pw", false)
}

func TestEnsureRootStoreFailure(t *testing.T) {
	t.Parallel()
	u := newUsers()
	u.err = errors.New("disk on fire")
	if gen, err := EnsureRoot(t.Context(), u, ""); err == nil || gen != "" {
		t.Errorf("EnsureRoot with a failing store = %q, %v, want \"\" and an error", gen, err)
	}
}
