package client

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies enforces ARCHITECTURE.md: client imports only package api and the standard library.
func TestDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	allowed := map[string]bool{
		"github.com/runplane/runplane/client": true,
		"github.com/runplane/runplane/api":    true,
	}
	for _, p := range strings.Fields(string(out)) {
		if !allowed[p] {
			t.Errorf("client depends on %s; it may import only package api and the standard library", p)
		}
	}
}
