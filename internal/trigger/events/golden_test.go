package events

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runplane/runplane/api"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// readEvent reads a structured-mode CloudEvent file as POST /api/v1/events would.
func readEvent(t *testing.T, path string) api.Event {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("POST", "/api/v1/events", bytes.NewReader(b))
	r.Header.Set("Content-Type", "application/cloudevents+json")
	evs, err := ParseHTTP(r)
	if err != nil {
		t.Fatalf("ParseHTTP(%s) = %v", path, err)
	}
	return evs[0]
}

// TestGolden parses each sample config and, for each sample event, records which actions handle it and the
// workflow run each builds: testdata/golden/<config>.json.
func TestGolden(t *testing.T) {
	configs, _ := filepath.Glob("testdata/configs/*.yaml")
	events, _ := filepath.Glob("testdata/events/*.json")
	if len(configs) == 0 || len(events) == 0 {
		t.Fatal("no sample configs or events")
	}
	type handled struct {
		Action   string        `json:"action"`
		Workflow *api.Workflow `json:"workflow,omitempty"`
		Error    string        `json:"error,omitempty"`
	}
	for _, cp := range configs {
		name := strings.TrimSuffix(filepath.Base(cp), ".yaml")
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(cp)
			if err != nil {
				t.Fatal(err)
			}
			r, err := ParseConfig(b)
			if err != nil {
				t.Fatalf("ParseConfig(%s) = %v", cp, err)
			}
			r.Name = name
			got := map[string][]handled{}
			for _, ep := range events {
				ev := readEvent(t, ep)
				doc := Document(ev)
				out := []handled{}
				for _, i := range Match(r, ev.Type, doc) {
					h := handled{Action: r.Actions[i].Name}
					if w, err := Build(r, i, ev, doc); err != nil {
						h.Error = err.Error()
					} else {
						h.Workflow = &w
					}
					out = append(out, h)
				}
				got[filepath.Base(ep)] = out
			}
			text, err := json.MarshalIndent(got, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			text = append(text, '\n')
			golden := filepath.Join("testdata", "golden", name+".json")
			if *update {
				if err := os.WriteFile(golden, text, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to write it)", err)
			}
			if !bytes.Equal(want, text) {
				t.Errorf("%s differs from what the config builds now:\n%s", golden, text)
			}
		})
	}
}
