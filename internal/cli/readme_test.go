package cli_test

import (
	"bytes"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/runplane/runplane/internal/cli"
)

var (
	helpFlag   = regexp.MustCompile(`^\s+(?:-[a-zA-Z], )?--([a-z0-9-]+)\b(.*)$`)
	helpEnv    = regexp.MustCompile(`\(env (RUNPLANE_[A-Z0-9_]+)`)
	readmeFlag = regexp.MustCompile("`--([a-z0-9-]+)`")
)

// TestReadmeConfigurationListsServeFlags keeps the README's configuration table in step with `runplane serve
// --help`: every flag the help shows has a row (naming the flag's environment variable, when it has one), and
// every flag the table names exists.
func TestReadmeConfigurationListsServeFlags(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := cli.Run(t.Context(), []string{"serve", "--help"}, strings.NewReader(""), &out, &errOut); code != 0 {
		t.Fatalf("runplane serve --help: exit %d: %s", code, errOut.String())
	}
	help := map[string]string{} // flag → its env variable, or ""
	inFlags := false
	for _, line := range strings.Split(out.String(), "\n") {
		switch {
		case strings.HasSuffix(line, "Flags:"):
			inFlags = true
		case line == "":
			inFlags = false
		case inFlags:
			if m := helpFlag.FindStringSubmatch(line); m != nil && m[1] != "help" {
				env := ""
				if e := helpEnv.FindStringSubmatch(m[2]); e != nil {
					env = e[1]
				}
				help[m[1]] = env
			}
		}
	}
	if len(help) < 10 {
		t.Fatalf("found %d flags in serve --help, want its flags:\n%s", len(help), out.String())
	}

	rows := configurationRows(t)
	for flag, env := range help {
		row, ok := rows[flag]
		switch {
		case !ok:
			t.Errorf("README's configuration table has no row for --%s (serve --help shows it)", flag)
		case env != "" && !strings.Contains(row, env):
			t.Errorf("README's row for --%s does not name %s: %s", flag, env, row)
		}
	}
	for flag := range rows {
		if _, ok := help[flag]; !ok {
			t.Errorf("README's configuration table lists --%s, which serve --help does not show", flag)
		}
	}
}

// configurationRows returns the rows of the table in README.md's "Configuration" section, by the flag their
// first cell names.
func configurationRows(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Configuration\n")
	if !ok {
		t.Fatal(`README.md has no "## Configuration" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	rows := map[string]string{}
	lines := strings.Split(section, "\n")
	start := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "|") })
	if start < 0 {
		t.Fatal("README's configuration section has no table")
	}
	for _, line := range lines[start:] {
		if !strings.HasPrefix(line, "|") {
			break // the table ends
		}
		cells := strings.Split(line, "|")
		if len(cells) < 3 {
			continue
		}
		for _, m := range readmeFlag.FindAllStringSubmatch(cells[1], -1) {
			rows[m[1]] = line
		}
	}
	return rows
}
