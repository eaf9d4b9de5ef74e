package release

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

// The step refuses a discovery file it cannot read (and one named but missing) before it touches the cluster.
func TestStepBadDiscovery(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{CompositionFile: `{"metadata": {"name": "a", "namespace": "demo"}}`,
		ChartFile: "not read before the discovery", KubeconfigFile: "apiVersion: v1\nkind: Config\n", DiscoveryFile: `{"groups": 7}`} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"install", "--dir", dir}, {"install", "--dir", dir, "--discovery", filepath.Join(dir, "missing.json")}} {
		var out, errOut bytes.Buffer
		if code := Main(t.Context(), args, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "read the discovery") {
			t.Errorf("Main(%q) = %d, stderr %q; want 1 and an error reading the discovery", args, code, errOut.String())
		}
	}
}

// A step started with StepEnv's GOGC=off collects garbage again once Main runs.
func TestStepTurnsTheCollectorOn(t *testing.T) {
	t.Setenv("GOGC", "off")
	defer debug.SetGCPercent(debug.SetGCPercent(-1)) // as GOGC=off had it at the start; restored after
	var out, errOut bytes.Buffer
	Main(t.Context(), nil, &out, &errOut)
	if got := debug.SetGCPercent(-1); got != 100 {
		t.Errorf("GC percent after Main under GOGC=off = %d, want 100", got)
	}
}
