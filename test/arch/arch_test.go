package arch

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const mod = "github.com/runplane/runplane"

type pkg struct {
	ImportPath string
	Name       string
	Doc        string
	Imports    []string
	Deps       []string
	Standard   bool
}

func listPackages(t *testing.T) map[string]pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps=false", "-json=ImportPath,Name,Doc,Imports,Deps,Standard", mod+"/...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	pkgs := map[string]pkg{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs[p.ImportPath] = p
	}
	if len(pkgs) < 10 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	return pkgs
}

var backends = []string{
	mod + "/internal/store/sqlite",
	mod + "/internal/store/postgres",
	mod + "/internal/executor/local",
	mod + "/internal/executor/kubeexec",
	mod + "/internal/executor/podman",
	mod + "/internal/auth/ldap",
}

func isBackend(path string) (string, bool) {
	for _, b := range backends {
		if path == b || strings.HasPrefix(path, b+"/") {
			return b, true
		}
	}
	return "", false
}

func internal(path string) bool { return strings.HasPrefix(path, mod+"/") }

// TestDependencyRules enforces ARCHITECTURE.md's import rules on non-test code.
func TestDependencyRules(t *testing.T) {
	pkgs := listPackages(t)
	for path, p := range pkgs {
		switch {
		case path == mod+"/api":
			for _, d := range p.Deps {
				if internal(d) || strings.Contains(strings.Split(d, "/")[0], ".") {
					t.Errorf("api imports %s; it may import only the standard library", d)
				}
			}
		case path == mod+"/internal/rbac":
			for _, d := range p.Deps {
				if d != mod+"/api" && (internal(d) || strings.Contains(strings.Split(d, "/")[0], ".")) {
					t.Errorf("rbac imports %s; it is pure: only api and the standard library", d)
				}
			}
		case path == mod+"/internal/inpod":
			// It runs inside job pods: it must never talk to the Kubernetes API.
			for _, d := range p.Deps {
				if strings.HasPrefix(d, "k8s.io/") || strings.HasPrefix(d, "sigs.k8s.io/") {
					t.Errorf("inpod imports %s; what runs in a job's pod must not talk to the Kubernetes API", d)
				}
			}
		case path == mod+"/internal/inpod/pid1", path == mod+"/internal/inpod/forward", path == mod+"/cmd/runplane-pid1":
			// PID 1 of every job's container, copied into every pod: small, only the standard library and x/sys.
			for _, d := range p.Deps {
				if strings.Contains(strings.Split(d, "/")[0], ".") && !strings.HasPrefix(d, "golang.org/x/sys/") &&
					d != mod+"/internal/inpod/pid1" && d != mod+"/internal/inpod/forward" {
					t.Errorf("%s imports %s; PID 1 of a job's container may import only the standard library and golang.org/x/sys", path, d)
				}
			}
		case path == mod+"/internal/executor/cgroup":
			// Runs in the forking path of every local job: the standard library, x/sys and executor's types only.
			for _, d := range p.Deps {
				if d != mod+"/internal/executor" && d != mod+"/api" && (internal(d) || strings.Contains(strings.Split(d, "/")[0], ".")) &&
					!strings.HasPrefix(d, "golang.org/x/sys/") {
					t.Errorf("%s imports %s; it may import only the standard library, golang.org/x/sys and internal/executor (with api)", path, d)
				}
			}
		case path == mod+"/internal/workflow":
			// Pure: the advancer decides from stored state alone; no I/O of any kind.
			for _, d := range p.Imports {
				io := d == "os" || d == "os/exec" || d == "net" || strings.HasPrefix(d, "net/") ||
					d == "database/sql" || d == "io/fs" || d == "path/filepath" || d == "syscall"
				ok := d == mod+"/api" || d == mod+"/internal/schema" || strings.HasPrefix(d, "cel.dev/") ||
					d == "go.yaml.in/yaml/v3" || (!internal(d) && !strings.Contains(strings.Split(d, "/")[0], ".") && !io)
				if !ok {
					t.Errorf("workflow imports %s; it is pure: api, internal/schema, CEL, YAML and the standard library without I/O", d)
				}
			}
		case path == mod+"/internal/platform/kratix" || path == mod+"/internal/platform/promise":
			// Kratix's pipeline contract and the checks of promises and requests, pure: they work from what they are
			// given alone (api, YAML, the standard library without I/O; promise also internal/schema).
			for _, d := range p.Imports {
				io := d == "os" || d == "os/exec" || d == "net" || strings.HasPrefix(d, "net/") ||
					d == "database/sql" || d == "io/fs" || d == "path/filepath" || d == "syscall"
				ok := d == mod+"/api" || d == "sigs.k8s.io/yaml" ||
					(path == mod+"/internal/platform/promise" && d == mod+"/internal/schema") ||
					(!internal(d) && !strings.Contains(strings.Split(d, "/")[0], ".") && !io)
				if !ok {
					t.Errorf("%s imports %s; it is pure: api, YAML, the standard library without I/O (and internal/schema for promise)",
						strings.TrimPrefix(path, mod+"/"), d)
				}
			}
		case path == mod+"/client":
			for _, d := range p.Deps {
				if d != mod+"/api" && (internal(d) || strings.Contains(strings.Split(d, "/")[0], ".")) {
					t.Errorf("client imports %s; it may import only api and the standard library", d)
				}
			}
		}
		self, selfIsBackend := isBackend(path)
		for _, imp := range p.Imports {
			if b, ok := isBackend(imp); ok {
				switch {
				case selfIsBackend && b != self:
					t.Errorf("backend %s imports backend %s", path, imp)
				case !selfIsBackend && path != mod+"/internal/server":
					t.Errorf("%s imports backend %s; only internal/server may", path, imp)
				}
			}
			if imp == mod+"/internal/server" && path != mod+"/internal/cli" && path != mod+"/internal/server/servertest" {
				t.Errorf("%s imports internal/server; only internal/cli (and the test support servertest) may", path)
			}
			if imp == mod+"/internal/server/servertest" || imp == mod+"/internal/executor/kubeexec/kubetest" ||
				imp == mod+"/internal/executor/podman/podmantest" || imp == mod+"/internal/testlog" ||
				imp == mod+"/internal/kubetest/apiserver" {
				t.Errorf("%s imports %s; only _test.go files may", path, imp)
			}
		}
	}
}

// TestPackageDocs requires a package comment on every package.
func TestPackageDocs(t *testing.T) {
	for path, p := range listPackages(t) {
		if p.Name != "main" && strings.TrimSpace(p.Doc) == "" {
			t.Errorf("package %s has no package doc comment", path)
		}
	}
}

// goListDeps is `go list -deps` of the packages named, run at the module's root.
func goListDeps(t *testing.T, pkgs ...string) map[string]bool {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-deps"}, pkgs...)...)
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", strings.Join(pkgs, " "), err)
	}
	deps := map[string]bool{}
	for _, p := range strings.Fields(string(out)) {
		deps[p] = true
	}
	return deps
}

// TestBinaryLeavesOutUnusedKubernetes keeps runplane's cold build short (README, "First run"): the Kubernetes
// executor uses core/v1 and batch/v1 (and rbac/v1, a small group, for promise pipelines' permissions) only, so
// the binary must not import client-go's clientset, informer factory,
// apply configurations or any other API group, which together made the first `go run` several minutes longer.
func TestBinaryLeavesOutUnusedKubernetes(t *testing.T) {
	deps := goListDeps(t, "./cmd/runplane")
	if !deps[mod+"/internal/executor/kubeexec"] {
		t.Fatal("cmd/runplane does not depend on kubeexec: this test checks nothing")
	}
	groups := goListDeps(t, "k8s.io/api/core/v1", "k8s.io/api/batch/v1", "k8s.io/api/rbac/v1") // and what they import themselves
	// The Helm v4 SDK (issue 16: Krateo charts) imports client-go's clientset and the apiextensions group from its
	// chart packages (helm.sh/helm/v4/internal/version, pkg/chart/common): what only it brings in is allowed, the
	// rest of the binary keeps to the rule.
	// Its install/upgrade/uninstall (pkg/action, in helmchart/release: the step of a composition's job) brings
	// in the informers and the groups its kube client waits with.
	helm := goListDeps(t, mod+"/internal/platform/chart/helmchart", mod+"/internal/platform/chart/helmchart/release")
	heavy := []string{"k8s.io/client-go/kubernetes", "k8s.io/client-go/informers", "k8s.io/client-go/applyconfigurations",
		"k8s.io/client-go/gentype", "k8s.io/client-go/testing", "k8s.io/client-go/listers/"}
	for d := range deps {
		if helm[d] && !strings.HasPrefix(d, mod+"/") {
			continue
		}
		for _, h := range heavy {
			if (d == h || strings.HasPrefix(d, strings.TrimSuffix(h, "/")+"/")) && !allowedLister(d) {
				t.Errorf("cmd/runplane depends on %s; use kubeexec.Client (core/v1 and batch/v1 only)", d)
			}
		}
		if strings.HasPrefix(d, "k8s.io/api/") && !groups[d] {
			t.Errorf("cmd/runplane depends on API group %s; the executor uses core/v1, batch/v1 and rbac/v1 only", d)
		}
	}
}

// allowedLister: the listers of the two groups used are small and import nothing else.
func allowedLister(p string) bool {
	return p == "k8s.io/client-go/listers/core/v1" || p == "k8s.io/client-go/listers/batch/v1"
}
