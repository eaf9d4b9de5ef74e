package schedule

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const file = "metadata/destination-selectors.yaml"

func TestParseSelectors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []DirectorySelector
		err  string
	}{
		{"empty", "", nil, ""},
		{"root only", "- matchLabels:\n    env: dev\n", []DirectorySelector{{Directory: ".", MatchLabels: map[string]string{"env": "dev"}}}, ""},
		{"directories cleaned", "- directory: ./prod/\n  matchLabels: {env: prod}\n- directory: .\n  matchLabels: {env: dev}\n",
			[]DirectorySelector{{Directory: "prod", MatchLabels: map[string]string{"env": "prod"}}, {Directory: ".", MatchLabels: map[string]string{"env": "dev"}}}, ""},
		{"json", `[{"directory":"a","matchLabels":{"x":"y"}}]`, []DirectorySelector{{Directory: "a", MatchLabels: map[string]string{"x": "y"}}}, ""},
		{"not a list", "matchLabels: {a: b}\n", nil, file + ": want a list of {directory, matchLabels}"},
		{"unknown key", "- matchlabel: {a: b}\n", nil, `unknown field "matchlabel"`},
		{"no selectors", "- directory: a\n", nil, file + ": entry 0 has no selectors"},
		{"empty selectors", "- matchLabels: {a: b}\n- directory: x\n  matchLabels: {}\n", nil, "entry 1 has no selectors"},
		{"sub directory", "- directory: a/b\n  matchLabels: {a: b}\n", nil, `directory "a/b": sub-directories are not allowed`},
		{"duplicate", "- directory: a\n  matchLabels: {a: b}\n- directory: ./a\n  matchLabels: {c: d}\n", nil, `entries 0 and 1 both give selectors for directory "a"`},
		{"duplicate root", "- matchLabels: {a: b}\n- directory: .\n  matchLabels: {c: d}\n", nil, `directory "."`},
		{"escapes", "- directory: ..\n  matchLabels: {a: b}\n", nil, `directory ".." is outside`},
		{"absolute", "- directory: /etc\n  matchLabels: {a: b}\n", nil, `directory "/etc" is outside`},
		{"bad label", "- matchLabels: {'a b': c}\n", nil, "is not a label"},
		{"bad yaml", "- [\n", nil, file + ":"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseSelectors(file, []byte(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ParseSelectors(%q) = %v, %v; want error containing %q", tc.in, got, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseSelectors(%q): %v", tc.in, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseSelectors(%q) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func FuzzParseSelectors(f *testing.F) {
	f.Add("- directory: a\n  matchLabels: {a: b}\n- matchLabels: {c: d}\n")
	f.Add("- directory: ../x\n  matchLabels: {a: b}\n")
	f.Add(`[{"directory":"a/b","matchLabels":{"x":"y"}}]`)
	f.Fuzz(func(t *testing.T, in string) {
		got, err := ParseSelectors(file, []byte(in))
		if err != nil {
			if !strings.HasPrefix(err.Error(), file+":") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, e := range got {
			if strings.Contains(e.Directory, "/") || e.Directory == ".." || seen[e.Directory] || len(e.MatchLabels) == 0 {
				t.Fatalf("ParseSelectors(%q) accepted %+v", in, e)
			}
			seen[e.Directory] = true
		}
		// Whatever it accepted makes groups without panicking, and no group's files leave the output.
		files := []string{"a.yaml"}
		for d := range seen {
			files = append(files, d+"/x.yaml")
		}
		groups, err := Groups(file, Output{Files: files, Selectors: got})
		if err != nil {
			t.Fatalf("Groups: %v", err)
		}
		n := 0
		for _, g := range groups {
			n += len(g.Files)
		}
		if n != len(files) {
			t.Fatalf("groups %+v hold %d files, want %d", groups, n, len(files))
		}
	})
}

func TestResolvePrecedence(t *testing.T) {
	tests := []struct {
		name string
		sels []Selector
		want map[string]string
	}{
		{"none", nil, nil},
		{"empty labels", []Selector{{Source: SourcePromise}}, nil},
		{"promise wins a shared key", []Selector{
			{MatchLabels: map[string]string{"env": "dev"}, Source: SourcePromiseWorkflow},
			{MatchLabels: map[string]string{"env": "prod"}, Source: SourcePromise},
			{MatchLabels: map[string]string{"env": "staging"}, Source: SourceResourceWorkflow},
		}, map[string]string{"env": "prod"}},
		{"promise workflow over resource workflow", []Selector{
			{MatchLabels: map[string]string{"env": "dev", "zone": "a"}, Source: SourcePromiseWorkflow},
			{MatchLabels: map[string]string{"env": "staging", "team": "x"}, Source: SourceResourceWorkflow},
		}, map[string]string{"env": "dev", "zone": "a", "team": "x"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Resolve(tc.sels)); diff != "" {
				t.Errorf("Resolve (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGroupsErrors(t *testing.T) {
	tests := []struct {
		name string
		out  Output
		err  string
	}{
		{"missing directory", Output{Files: []string{"a.yaml"}, Selectors: []DirectorySelector{{Directory: "prod", MatchLabels: map[string]string{"a": "b"}}}},
			file + `: directory "prod": the pipeline's output has no such directory`},
		{"file not directory", Output{Files: []string{"prod"}, Selectors: []DirectorySelector{{Directory: "prod", MatchLabels: map[string]string{"a": "b"}}}},
			`directory "prod" is a file`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Groups(file, tc.out)
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("Groups = %v, want error containing %q", err, tc.err)
			}
		})
	}
}
