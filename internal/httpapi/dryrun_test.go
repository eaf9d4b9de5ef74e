package httpapi

import (
	"net/url"
	"testing"
)

func TestParseDryRun(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, query string
		want        bool
		wantErr     bool
	}{
		{"none", "", false, false},
		{"kubectl", "dryRun=All", true, false},
		{"any case", "dryRun=all", true, false},
		{"snake case", "dry_run=true", true, false},
		{"snake case off", "dry_run=false", false, false},
		{"kubectl's client value", "dryRun=Client", false, true},
		{"empty", "dryRun=", false, true},
		{"not a bool", "dry_run=yes", false, true},
		{"both", "dryRun=All&dry_run=false", true, false},
	}
	for _, tt := range tests {
		q, _ := url.ParseQuery(tt.query)
		got, err := parseDryRun(q)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("%s: parseDryRun(%q) = %v, %v; want %v, error %v", tt.name, tt.query, got, err, tt.want, tt.wantErr)
		}
	}
}

// FuzzParseDryRun: any query either fails with a 400 or says dry only when it asked for it.
func FuzzParseDryRun(f *testing.F) {
	for _, s := range []string{"dryRun=All", "dry_run=1", "dryRun=x&dry_run=true", "%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, _ := url.ParseQuery(raw)
		dry, err := parseDryRun(q)
		if err != nil && dry {
			t.Errorf("parseDryRun(%q) = true with error %v", raw, err)
		}
		if dry && q.Get("dryRun") == "" && q.Get("dry_run") == "" && len(q["dryRun"]) == 0 && len(q["dry_run"]) == 0 {
			t.Errorf("parseDryRun(%q) = true without a parameter", raw)
		}
	})
}
