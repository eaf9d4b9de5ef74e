package release

import (
	"bytes"
	"os"
	"path/filepath"
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
