package cli_test

import (
	"bytes"
	"runtime"
	"strings"
	"testing"

	"github.com/runplane/runplane/internal/cli"
)

func TestVersionAndCompletion(t *testing.T) {
	tests := []struct {
		args  []string
		wants []string
	}{
		{[]string{"version"}, []string{"version: dev\n", "go:      " + runtime.Version()}},
		{[]string{"version", "-o", "json"}, []string{`"version": "dev"`, `"goVersion": "` + runtime.Version() + `"`}},
		{[]string{"version", "-o", "yaml"}, []string{"version: dev\n", "goVersion: " + runtime.Version()}},
		{[]string{"--version"}, []string{"dev"}},
		{[]string{"completion", "bash"}, []string{"bash completion V2 for runplane"}},
		{[]string{"completion", "zsh"}, []string{"#compdef runplane"}},
		{[]string{"--help"}, []string{"serve", "login", "apply", "get", "run", "logs", "cancel", "delete", "version"}},
	}
	for _, tt := range tests {
		var out, errOut bytes.Buffer
		code := cli.Run(t.Context(), tt.args, strings.NewReader(""), &out, &errOut)
		if code != 0 {
			t.Errorf("runplane %v: exit %d, stderr %s", tt.args, code, errOut.String())
			continue
		}
		for _, w := range tt.wants {
			if !strings.Contains(out.String(), w) {
				t.Errorf("runplane %v: stdout\n%s\nwant it to contain %q", tt.args, out.String(), w)
			}
		}
	}
	var out, errOut bytes.Buffer
	if code := cli.Run(t.Context(), []string{"frobnicate"}, strings.NewReader(""), &out, &errOut); code != 1 ||
		!strings.HasPrefix(errOut.String(), "Error: unknown command \"frobnicate\" for \"runplane\"") {
		t.Errorf("unknown command: exit %d, stderr %q", code, errOut.String())
	}
}
