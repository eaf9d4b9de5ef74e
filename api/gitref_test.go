package api

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
	"unicode/utf8"
)

// branchCases are names git takes or refuses as branches (git check-ref-format --branch, git 2.39).
var branchCases = []struct {
	name   string
	branch string
	ok     bool
}{
	{"main", "main", true},
	{"nested", "release/v1.2", true},
	{"unicode", "fix/é", true},
	{"at sign inside", "a@b", true},
	{"lock inside", "foo.lock.x", true},
	{"dot inside component end", "a./b", true},
	{"braces", "{x}", true},
	{"dash inside", "a/-b", true},
	{"HEAD below", "HEAD/x", true},
	{"empty", "", false},
	{"HEAD", "HEAD", false},
	{"at alone", "@", false},
	{"leading dash", "-x", false},
	{"dash alone", "-", false},
	{"double dot", "a..b", false},
	{"reflog syntax", "a@{b", false},
	{"previous branch", "@{-1}", false},
	{"double slash", "a//b", false},
	{"leading slash", "/a", false},
	{"trailing slash", "a/", false},
	{"trailing dot", "a.", false},
	{"trailing dot nested", "a/b.", false},
	{"leading dot", ".a", false},
	{"dot component", "a/.b", false},
	{"dot alone", ".", false},
	{"lock", "a.lock", false},
	{"lock component", "a/b.lock/c", false},
	{"space", "a b", false},
	{"tab", "a\tb", false},
	{"nul", "a\x00b", false},
	{"del", "a\x7fb", false},
	{"tilde", "a~", false},
	{"caret", "a^", false},
	{"colon", "a:b", false},
	{"question", "a?b", false},
	{"star", "a*", false},
	{"bracket", "a[b", false},
	{"backslash", `a\b`, false},
	{"too long", strings.Repeat("a", 256), false},
	{"not utf-8", "a\xffb", false},
}

func TestValidateBranch(t *testing.T) {
	for _, tt := range branchCases {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateBranch(tt.branch)
			if (err == nil) != tt.ok {
				t.Errorf("ValidateBranch(%q) = %v, want ok %v", tt.branch, err, tt.ok)
			}
		})
	}
}

// gitAccepts asks the real git binary whether it takes b as a branch name.
func gitAccepts(t testing.TB, git, b string) bool {
	cmd := exec.Command(git, "check-ref-format", "--branch", b)
	cmd.Dir = t.TempDir() // outside any repository, so that nothing is expanded
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("git check-ref-format: %v", err)
	}
	return err == nil
}

// comparable reports whether git can be asked about b and ValidateBranch is meant to agree: argv cannot carry
// NUL, and ValidateBranch refuses on purpose "@", over-long and non-UTF-8 names that git would take.
func comparable(b string) bool {
	return !strings.ContainsRune(b, 0) && b != "@" && len(b) <= MaxBranchLen && utf8.ValidString(b)
}

// TestValidateBranchAgreesWithGit runs every case through the real git.
func TestValidateBranchAgreesWithGit(t *testing.T) {
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("no git binary")
	}
	for _, tt := range branchCases {
		if !comparable(tt.branch) {
			continue
		}
		if got, want := ValidateBranch(tt.branch) == nil, gitAccepts(t, git, tt.branch); got != want {
			t.Errorf("ValidateBranch(%q) ok = %v, git check-ref-format --branch ok = %v", tt.branch, got, want)
		}
	}
}

// FuzzValidateBranch checks ValidateBranch against the real git binary on every input they can both judge.
func FuzzValidateBranch(f *testing.F) {
	for _, tt := range branchCases {
		f.Add(tt.branch)
	}
	git, err := exec.LookPath("git")
	f.Fuzz(func(t *testing.T, b string) {
		ok := ValidateBranch(b) == nil
		if ok && (b == "" || b[0] == '-' || strings.ContainsAny(b, " \x00~^:?*[\\")) {
			t.Fatalf("ValidateBranch(%q) accepted a name git refuses", b)
		}
		if err != nil || !comparable(b) {
			return
		}
		if want := gitAccepts(t, git, b); ok != want {
			t.Fatalf("ValidateBranch(%q) ok = %v, git check-ref-format --branch ok = %v", b, ok, want)
		}
	})
}
