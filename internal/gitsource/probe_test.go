package gitsource

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/gitsource/gittest"
)

// gitOut runs git with the cache's hardened wrapper and returns its stdout.
func gitOut(t *testing.T, args ...string) string {
	t.Helper()
	inv := buildGit(t.TempDir(), "", append([]string{"-c", "user.name=x", "-c", "user.email=x@x"}, args...)...)
	cmd := inv.command(t.Context(), "")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git %v: %v: %s", args, err, stderr.Bytes())
	}
	return strings.TrimSpace(string(out))
}

// lsRemote is git's own answer to what a probe answers, "" if the ref does not exist.
func lsRemote(t *testing.T, url, ref string) string {
	t.Helper()
	oid, _, _ := strings.Cut(gitOut(t, "ls-remote", "--", url, ref), "\t")
	return oid
}

func writeFile(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestProbeLocal(t *testing.T) {
	t.Parallel()
	loose := gittest.NewRepo(t, map[string]string{"f": "1"})
	gittest.CommitBranch(t, loose, "dev", map[string]string{"f": "dev"})
	gitOut(t, "--git-dir", loose, "symbolic-ref", "refs/heads/alias", "refs/heads/dev")
	gitOut(t, "--git-dir", loose, "symbolic-ref", "refs/heads/alias2", "refs/heads/alias")
	work := filepath.Join(t.TempDir(), "work")
	// A non-bare repository (cloned before the broken refs below exist), and a directory whose .git file links
	// to the bare repository.
	gitOut(t, "clone", "-q", "--", gittest.URL(loose), work)
	writeFile(t, filepath.Join(loose, "refs/heads/loop1"), "ref: refs/heads/loop2\n")
	writeFile(t, filepath.Join(loose, "refs/heads/loop2"), "ref: refs/heads/loop1\n")
	writeFile(t, filepath.Join(loose, "refs/heads/escape"), "ref: refs/../../config\n")
	writeFile(t, filepath.Join(loose, "refs/heads/garbage"), "not a ref\n")
	if err := os.Symlink(filepath.Join(loose, "refs/heads/main"), filepath.Join(loose, "refs/heads/symlink")); err != nil {
		t.Fatal(err)
	}

	// Packed refs, with an annotated tag for a peel line, and a branch updated since (loose wins).
	packed := gittest.NewRepo(t, map[string]string{"f": "1"})
	gittest.CommitBranch(t, packed, "dev", map[string]string{"f": "dev"})
	gittest.CommitBranch(t, packed, "moved", map[string]string{"f": "moved"})
	gitOut(t, "--git-dir", packed, "tag", "-a", "-m", "tag", "v1", "main")
	gitOut(t, "--git-dir", packed, "symbolic-ref", "refs/heads/alias", "refs/heads/dev")
	gitOut(t, "--git-dir", packed, "pack-refs", "--all")
	gittest.CommitBranch(t, packed, "moved", map[string]string{"f": "moved again"})
	if _, err := os.Stat(filepath.Join(packed, "refs/heads/dev")); !os.IsNotExist(err) {
		t.Fatalf("refs/heads/dev still loose after pack-refs: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(packed, "packed-refs")); err != nil || !bytes.Contains(b, []byte("\n^")) {
		t.Fatalf("packed-refs without a peel line: %q, %v", b, err)
	}

	linked := t.TempDir()
	rel, err := filepath.Rel(linked, loose)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(linked, ".git"), "gitdir: "+rel+"\n")

	reftable := gittest.NewRepo(t, map[string]string{"f": "1"})
	if err := os.Mkdir(filepath.Join(reftable, "reftable"), 0o755); err != nil {
		t.Fatal(err)
	}

	c := newCache(t, Options{})
	tests := []struct {
		name, url, branch string
		wantErr           error // nil: the probe must agree with git ls-remote
	}{
		{"loose", gittest.URL(loose), "main", nil},
		{"loose other branch", gittest.URL(loose), "dev", nil},
		{"symbolic ref", gittest.URL(loose), "alias", nil},
		{"symbolic ref to symbolic ref", gittest.URL(loose), "alias2", nil},
		{"plain path", loose, "main", nil},
		{"path without .git", strings.TrimSuffix(gittest.URL(loose), ".git"), "main", nil},
		{"percent-encoded", strings.Replace(gittest.URL(loose), "repo.git", "rep%6f.git", 1), "main", nil},
		{"packed", gittest.URL(packed), "dev", nil},
		{"packed symbolic ref", gittest.URL(packed), "alias", nil},
		{"loose overrides packed", gittest.URL(packed), "moved", nil},
		{"non-bare", gittest.URL(work), "main", nil},
		{"gitdir file", gittest.URL(linked), "dev", nil},
		{"missing branch", gittest.URL(loose), "nope", errRefNotFound},
		{"missing packed branch", gittest.URL(packed), "nope", errRefNotFound},
		{"symbolic ref loop", gittest.URL(loose), "loop1", errSymrefsDepth},
		{"symbolic ref escapes", gittest.URL(loose), "escape", errBadRefName},
		{"garbage", gittest.URL(loose), "garbage", errUnusualRepo},
		{"reftable", gittest.URL(reftable), "main", errUnusualRepo},
		{"no repository", gittest.URL(t.TempDir()), "main", errUnusualRepo},
		{"file URL with host", "file://localhost" + loose, "main", errNoProbe},
		{"relative path", "repo.git", "main", errNoProbe},
		{"ssh", "ssh://example.com/r.git", "main", errNoProbe},
		{"scp-like", "git@example.com:r.git", "main", errNoProbe},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := c.probe(t.Context(), executor.Repo{URL: tc.url}, tc.branch)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Errorf("probe(%q, %q) = %q, %v; want error %v", tc.url, tc.branch, got, err, tc.wantErr)
				}
				return
			}
			if want := lsRemote(t, tc.url, "refs/heads/"+tc.branch); err != nil || got != want {
				t.Errorf("probe(%q, %q) = %q, %v; want %q (git ls-remote)", tc.url, tc.branch, got, err, want)
			}
		})
	}
	t.Run("symlinked loose ref", func(t *testing.T) {
		t.Parallel()
		if got, err := c.probe(t.Context(), executor.Repo{URL: gittest.URL(loose)}, "symlink"); err == nil {
			t.Errorf("probe of a symlinked loose ref = %q, want an error", got)
		}
	})
}

func TestCheckRefPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ref    string
		wantOK bool
	}{
		{"refs/heads/main", true},
		{"refs/heads/feature/x-1.2", true},
		{"refs/heads/../../config", false},
		{"refs/heads/a/../b", false},
		{"refs/../HEAD", false},
		{"/etc/passwd", false},
		{"refs//heads/main", false},
		{"refs/heads/", false},
		{"refs/heads/.hidden", false},
		{"refs/heads/x.lock", false},
		{"refs/heads/a\\b", false},
		{"refs/heads/a\x00b", false},
		{"refs/heads/a b", false},
		{"refs/heads/a@{1}", false},
		{"HEAD", false},
		{"config", false},
		{"refs/heads/" + strings.Repeat("x", 1100), false},
	}
	for _, tc := range tests {
		if err := checkRefPath(tc.ref); (err == nil) != tc.wantOK {
			t.Errorf("checkRefPath(%q) = %v, want ok %v", tc.ref, err, tc.wantOK)
		}
	}
}

const (
	oidA = "1111111111111111111111111111111111111111"
	oidB = "2222222222222222222222222222222222222222"
	oidC = "3333333333333333333333333333333333333333333333333333333333333333" // sha256
)

func TestParsePackedRefs(t *testing.T) {
	t.Parallel()
	header := "# pack-refs with: peeled fully-peeled sorted \n"
	tests := []struct {
		name, data string
		want       string
		wantErr    error // nil: any error
	}{
		{"found", header + oidA + " refs/heads/dev\n" + oidB + " refs/heads/main\n", oidB, nil},
		{"after a peel line", header + oidA + " refs/tags/v1\n^" + oidB + "\n" + oidB + " refs/heads/main\n", oidB, nil},
		{"sha256", oidC + " refs/heads/main\n", oidC, nil},
		{"no final newline", oidA + " refs/heads/main", oidA, nil},
		{"missing", header + oidA + " refs/heads/dev\n", "", errRefNotFound},
		{"prefix is not a match", oidA + " refs/heads/mainline\n", "", errRefNotFound},
		{"empty file", "", "", errRefNotFound},
		{"peeled value is not the ref", oidA + " refs/tags/main\n^" + oidB + "\n", "", errRefNotFound},
		{"blank line", header + "\n" + oidA + " refs/heads/main\n", "", nil},
		{"short oid", "1234 refs/heads/main\n", "", nil},
		{"upper-case oid", strings.Repeat("A", 40) + " refs/heads/main\n", "", nil},
		{"no ref name", oidA + "\n", "", nil},
		{"bad peel line", oidA + " refs/tags/v1\n^xyz\n", "", nil},
	}
	for _, tc := range tests {
		got, err := parsePackedRefs([]byte(tc.data), "refs/heads/main")
		switch {
		case tc.want != "" && (err != nil || got != tc.want):
			t.Errorf("%s: parsePackedRefs = %q, %v; want %q", tc.name, got, err, tc.want)
		case tc.want == "" && (err == nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr)):
			t.Errorf("%s: parsePackedRefs = %q, %v; want error %v", tc.name, got, err, tc.wantErr)
		}
	}
}

// pkt encodes lines as pkt-lines; "" is a flush.
func pkt(lines ...string) string {
	var b strings.Builder
	for _, l := range lines {
		if l == "" {
			b.WriteString("0000")
			continue
		}
		fmt.Fprintf(&b, "%04x%s", len(l)+4, l)
	}
	return b.String()
}

func TestParseAdvertisement(t *testing.T) {
	t.Parallel()
	svc := "# service=git-upload-pack\n"
	caps := "\x00multi_ack side-band-64k ofs-delta symref=HEAD:refs/heads/main agent=git/2.39\n"
	tests := []struct {
		name, data string
		want       string
		wantErr    error // nil: any error
	}{
		{"v0", pkt(svc, "", oidA+" HEAD"+caps, oidA+" refs/heads/main\n", oidB+" refs/heads/dev\n", ""), oidA, nil},
		{"first ref", pkt(svc, "", oidB+" refs/heads/main"+caps, oidA+" refs/tags/v1\n", oidB+" refs/tags/v1^{}\n", ""), oidB, nil},
		{"v1", pkt(svc, "", "version 1\n", oidA+" refs/heads/main"+caps, ""), oidA, nil},
		{"no newlines", pkt(svc[:len(svc)-1], "", oidA+" HEAD"+caps[:len(caps)-1], oidB+" refs/heads/main", ""), oidB, nil},
		{"extra header lines", pkt(svc, "x-header: 1\n", "", oidA+" refs/heads/main"+caps, ""), oidA, nil},
		{"empty header line", pkt(svc) + "0004" + pkt("", oidA+" refs/heads/main\n", ""), oidA, nil},
		{"shallow lines", pkt(svc, "", oidA+" refs/heads/main"+caps, "shallow "+oidB+"\n", ""), oidA, nil},
		{"sha256", pkt(svc, "", oidC+" refs/heads/main"+caps, ""), oidC, nil},
		{"upper-case length", "001E" + svc + pkt("", oidA+" refs/heads/main\n", ""), oidA, nil},
		{"missing", pkt(svc, "", oidA+" HEAD"+caps, oidA+" refs/heads/dev\n", ""), "", errRefNotFound},
		{"empty repository", pkt(svc, "", strings.Repeat("0", 40)+" capabilities^{}"+caps, ""), "", errRefNotFound},
		{"twice", pkt(svc, "", oidA+" refs/heads/main"+caps, oidB+" refs/heads/main\n", ""), "", nil},
		{"truncated", pkt(svc, "", oidA+" refs/heads/main"+caps), "", nil},
		{"truncated in a line", pkt(svc, "", oidA+" refs/heads/main"+caps, "")[:60], "", nil},
		{"no service line", pkt(oidA+" refs/heads/main"+caps, ""), "", nil},
		{"other service", pkt("# service=git-receive-pack\n", "", oidA+" refs/heads/main"+caps, ""), "", nil},
		{"protocol v2", pkt(svc, "", "version 2\n", "ls-refs=unborn\n", ""), "", nil},
		{"v2 delimiter", pkt(svc, "") + "0001" + pkt(""), "", nil},
		{"bad length", pkt(svc, "") + "00zz" + oidA, "", nil},
		{"data after flush", pkt(svc, "", oidA+" refs/heads/main"+caps, "") + "garbage", "", nil},
		{"malformed ref line", pkt(svc, "", oidA+" refs/heads/main"+caps, "hello\n", ""), "", nil},
		{"empty", "", "", nil},
		{"html", "<html>login</html>", "", nil},
	}
	for _, tc := range tests {
		got, err := parseAdvertisement(strings.NewReader(tc.data), "refs/heads/main")
		switch {
		case tc.want != "" && (err != nil || got != tc.want):
			t.Errorf("%s: parseAdvertisement = %q, %v; want %q", tc.name, got, err, tc.want)
		case tc.want == "" && (err == nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr)):
			t.Errorf("%s: parseAdvertisement = %q, %v; want error %v", tc.name, got, err, tc.wantErr)
		}
	}
}

func FuzzParseAdvertisement(f *testing.F) {
	svc := "# service=git-upload-pack\n"
	f.Add([]byte(pkt(svc, "", oidA+" HEAD\x00caps\n", oidA+" refs/heads/main\n", oidB+" refs/heads/dev\n", "")))
	f.Add([]byte(pkt(svc, "", "version 1\n", oidC+" refs/heads/main\x00caps\n", "shallow "+oidA+"\n", "")))
	f.Add([]byte(pkt(svc, "", strings.Repeat("0", 40)+" capabilities^{}\x00caps\n", "")))
	f.Add([]byte(pkt(svc, "") + "0001"))
	f.Fuzz(func(t *testing.T, data []byte) {
		oid, err := parseAdvertisement(bytes.NewReader(data), "refs/heads/main")
		if err != nil {
			return
		}
		if !isHex(oid) {
			t.Fatalf("parseAdvertisement = %q, not an object id", oid)
		}
		if !bytes.Contains(data, []byte(oid+" refs/heads/main")) {
			t.Fatalf("parseAdvertisement = %q, which the input does not give for refs/heads/main", oid)
		}
	})
}

func FuzzParsePackedRefs(f *testing.F) {
	f.Add([]byte("# pack-refs with: peeled fully-peeled sorted \n" + oidA + " refs/tags/v1\n^" + oidB + "\n" + oidB + " refs/heads/main\n"))
	f.Add([]byte(oidC + " refs/heads/main"))
	f.Add([]byte(oidA + " refs/heads/mainline\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		oid, err := parsePackedRefs(data, "refs/heads/main")
		if err != nil {
			return
		}
		if !isHex(oid) {
			t.Fatalf("parsePackedRefs = %q, not an object id", oid)
		}
		line := []byte(oid + " refs/heads/main")
		if !bytes.HasPrefix(data, append(line, '\n')) && !bytes.Contains(data, append([]byte{'\n'}, line...)) && !bytes.Equal(data, line) {
			t.Fatalf("parsePackedRefs = %q, which the input does not give for refs/heads/main", oid)
		}
	})
}
