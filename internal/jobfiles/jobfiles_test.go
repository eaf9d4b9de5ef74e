package jobfiles

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func write(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestListAndOpen(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.Prepare("job-abcde")
	if err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(t.TempDir(), "secret")
	write(t, outside, "server secret")
	write(t, filepath.Join(d, OutputDir, "a.yaml"), "kind: A\n")
	write(t, filepath.Join(d, OutputDir, "dir", "b.txt"), "bee")
	if err := os.Symlink(outside, filepath.Join(d, OutputDir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Dir(outside), filepath.Join(d, OutputDir, "dirlink")); err != nil {
		t.Fatal(err)
	}

	files, err := s.List("job-abcde")
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, f := range files {
		paths = append(paths, f.Path)
	}
	if diff := cmp.Diff([]string{"a.yaml", "dir/b.txt"}, paths); diff != "" {
		t.Errorf("List paths (-want +got):\n%s", diff)
	}

	f, info, err := s.OpenFile("job-abcde", "dir/b.txt")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(f)
	f.Close()
	if string(b) != "bee" || info.Size() != 3 {
		t.Errorf("OpenFile(dir/b.txt) = %q (%d bytes), want bee", b, info.Size())
	}

	for _, p := range []string{"", "link", "dirlink/secret", "../output/a.yaml", "/etc/passwd", "dir", "missing", "dir/../../metadata"} {
		if f, _, err := s.OpenFile("job-abcde", p); !errors.Is(err, ErrNotFound) {
			if f != nil {
				f.Close()
			}
			t.Errorf("OpenFile(%q) err = %v, want ErrNotFound", p, err)
		}
	}
	for _, id := range []string{"", "..", "../x", "job/../x", "Job"} {
		if _, err := s.List(id); !errors.Is(err, ErrNotFound) {
			t.Errorf("List(%q) err = %v, want ErrNotFound", id, err)
		}
		if _, err := s.Prepare(id); err == nil {
			t.Errorf("Prepare(%q) = nil error, want refused", id)
		}
	}
	if _, err := s.List("other-job"); !errors.Is(err, ErrNotFound) {
		t.Errorf("List of a job that kept nothing: err = %v, want ErrNotFound", err)
	}
}

func TestPruneAndRemove(t *testing.T) {
	s, _ := Open(t.TempDir())
	old, _ := s.Prepare("old-aaaaa")
	_, _ = s.Prepare("new-bbbbb")
	past := time.Now().Add(-48 * time.Hour)
	if err := os.Chtimes(old, past, past); err != nil {
		t.Fatal(err)
	}
	n, err := s.Prune(time.Now().Add(-time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("Prune = %d, %v; want 1 job pruned", n, err)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("pruned job's directory still there: %v", err)
	}
	if err := s.Remove("new-bbbbb"); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove("new-bbbbb"); err != nil {
		t.Errorf("Remove of a removed job: %v, want nil", err)
	}
}

func TestMetadata(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		want    string // JSON of the metadata, "" for nil
		wantErr string // substring
	}{
		{name: "none", files: nil},
		{name: "empty files", files: map[string]string{StatusFile: "", WorkflowControlFile: "\n"}},
		{
			name: "all three",
			files: map[string]string{
				StatusFile:               "message: ready\nendpoint: redis:6379\n",
				DestinationSelectorsFile: "- matchLabels:\n    env: dev\n",
				WorkflowControlFile:      "retryAfter: 5m\n",
			},
			want: `{"status":{"endpoint":"redis:6379","message":"ready"},"destination_selectors":[{"matchLabels":{"env":"dev"}}],"workflow_control":{"retryAfter":"5m"}}`,
		},
		{name: "malformed", files: map[string]string{StatusFile: "a: 1\nb: [\n"}, wantErr: "metadata/status.yaml: yaml: line"},
		{name: "status not a mapping", files: map[string]string{StatusFile: "- a\n"}, wantErr: "metadata/status.yaml: must be a YAML mapping"},
		{name: "selectors not a list", files: map[string]string{DestinationSelectorsFile: "a: b\n"}, wantErr: "metadata/destination-selectors.yaml: must be a YAML list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := Open(t.TempDir())
			d, _ := s.Prepare("job-x")
			if tt.files != nil {
				os.Mkdir(filepath.Join(d, MetadataDir), 0o700)
			}
			for name, c := range tt.files {
				write(t, filepath.Join(d, MetadataDir, name), c)
			}
			md, err := s.Metadata("job-x")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Metadata err = %v, want %q", err, tt.wantErr)
				}
				var me *MetadataError
				if !errors.As(err, &me) {
					t.Errorf("Metadata err %T is not a *MetadataError", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if md != nil {
				b, _ := json.Marshal(md)
				got = string(b)
			}
			if got != tt.want {
				t.Errorf("Metadata = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestMetadataLinkRefused(t *testing.T) {
	s, _ := Open(t.TempDir())
	d, _ := s.Prepare("job-x")
	outside := filepath.Join(t.TempDir(), "status.yaml")
	write(t, outside, "stolen: true\n")
	os.Mkdir(filepath.Join(d, MetadataDir), 0o700)
	if err := os.Symlink(outside, filepath.Join(d, MetadataDir, StatusFile)); err != nil {
		t.Fatal(err)
	}
	if md, err := s.Metadata("job-x"); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("Metadata through a link = %v, %v; want refused", md, err)
	}
}

func FuzzParseMetadataFile(f *testing.F) {
	f.Add([]byte("message: ok\n"), true)
	f.Add([]byte("- matchLabels: {a: b}\n"), false)
	f.Add([]byte("a: [\n"), true)
	f.Fuzz(func(t *testing.T, b []byte, object bool) {
		kind := "list"
		if object {
			kind = "object"
		}
		j, err := ParseMetadataFile(b, kind)
		if err == nil && j != nil && !json.Valid(j) {
			t.Fatalf("ParseMetadataFile(%q) = %s: not JSON", b, j)
		}
	})
}
