package cli

import (
	"fmt"
	"regexp"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Set at build time, for example:
//
//	go build -ldflags "-X github.com/runplane/runplane/internal/cli.version=v0.1.0 \
//	    -X github.com/runplane/runplane/internal/cli.commit=$(git rev-parse HEAD)" ./cmd/runplane
//
// Without them the version is "dev" (or the module version `go install` recorded) and the commit comes from
// the VCS stamp the go command embeds.
var (
	version = "dev"
	commit  = ""
)

// releaseVersion matches a tagged module version, not the pseudo-versions (v0.0.0-20260101120000-abcdef123456,
// +dirty) the go command stamps on builds from a work tree: those stay "dev", with the commit shown beside.
var releaseVersion = regexp.MustCompile(`^v\d+\.\d+\.\d+(-[0-9A-Za-z.]+)?$`)

// buildInfo describes this binary.
type buildInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit,omitempty"`
	CommitAt  string `json:"commitTime,omitempty"`
	Modified  bool   `json:"modified,omitempty"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
}

func readBuildInfo() buildInfo {
	b := buildInfo{Version: version, Commit: commit, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	if b.Version == "dev" && releaseVersion.MatchString(bi.Main.Version) {
		b.Version = bi.Main.Version // go install module@vX.Y.Z
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			if b.Commit == "" {
				b.Commit = s.Value
			}
		case "vcs.time":
			b.CommitAt = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return b
}

// versionString is the one-line form used by --version and the User-Agent.
func versionString() string {
	b := readBuildInfo()
	s := b.Version
	if b.Commit != "" {
		c := b.Commit
		if len(c) > 12 {
			c = c[:12]
		}
		s += " (commit " + c
		if b.Modified {
			s += ", modified"
		}
		s += ")"
	}
	return s + " " + b.GoVersion
}

func (a *app) versionCommand() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and Go version of this binary",
		Args:  checkArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			b := readBuildInfo()
			if !isTable(output) {
				return a.print(cmd, output, b, nil)
			}
			fmt.Fprintf(a.stdout, "version: %s\n", b.Version)
			if b.Commit != "" {
				mod := ""
				if b.Modified {
					mod = " (modified)"
				}
				fmt.Fprintf(a.stdout, "commit:  %s%s\n", b.Commit, mod)
			}
			if b.CommitAt != "" {
				fmt.Fprintf(a.stdout, "date:    %s\n", b.CommitAt)
			}
			fmt.Fprintf(a.stdout, "go:      %s %s\n", b.GoVersion, b.Platform)
			return nil
		},
	}
	addOutputFlag(cmd, &output)
	return cmd
}
