package podman

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDeriveSeccompProfile(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "in.json")
	const in = `{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":38,"archMap":[{"architecture":"SCMP_ARCH_X86_64"}],
"syscalls":[{"names":["read","keyctl","write"],"action":"SCMP_ACT_ALLOW"},{"names":["add_key"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}`
	if err := os.WriteFile(src, []byte(in), 0o644); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, "out.json")
	if err := deriveSeccompProfile(src, dst); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(dst)
	var got struct {
		DefaultAction string           `json:"defaultAction"`
		ArchMap       []map[string]any `json:"archMap"`
		Syscalls      []struct {
			Names  []string `json:"names"`
			Action string   `json:"action"`
		} `json:"syscalls"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.DefaultAction != "SCMP_ACT_ERRNO" || len(got.ArchMap) != 1 || len(got.Syscalls) != 2 {
		t.Fatalf("derived profile %s: want the input's fields kept", b)
	}
	if names := strings.Join(got.Syscalls[0].Names, ","); names != "read,write" {
		t.Errorf("allowed names = %s, want read,write (keyctl taken out)", names)
	}
	if names := strings.Join(got.Syscalls[1].Names, ","); names != "add_key" {
		t.Errorf("a denying rule changed: %s", names)
	}

	for name, bad := range map[string]string{
		"allow by default": `{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[]}`,
		"not JSON":         `{"defaultAction":`,
	} {
		p := filepath.Join(dir, "bad.json")
		if err := os.WriteFile(p, []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := deriveSeccompProfile(p, dst); err == nil {
			t.Errorf("%s: deriveSeccompProfile = nil, want an error", name)
		}
	}
	if _, err := seccompOption(filepath.Join(dir, "missing.json"), dir); err == nil {
		t.Errorf("seccompOption with a named profile that does not exist = nil, want an error")
	}
}
