package events

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/gitsource"
	"github.com/runplane/runplane/internal/store"
)

// Repositories reads files from a runner's repository, which plays Keptn's configuration repository: the server's
// git cache behind the runner's URL, branch and token.
type Repositories interface {
	// ReadFiles returns the files paths name (a file, or a directory: every file under it, at any depth) in
	// runner's repository at commit ("": the branch head), keyed by their paths from the repository's root, at
	// most max bytes in all. A path with nothing is a *gitsource.PathNotFoundError.
	ReadFiles(ctx context.Context, runner, commit string, paths []string, max int) (map[string][]byte, error)
}

// commitOf is the commit a Keptn event names (its gitcommitid extension), "" for none.
func commitOf(ev api.Event) string {
	s, _ := ev.Extensions[extCommit].(string)
	return s
}

// MaxActionFiles bounds the files of all the tasks of one action, which its run's definition holds.
const MaxActionFiles = 4 << 20

// taskFiles reads the files of every task of action a from rs's runner at ev's commit: one map per task (nil for a
// task without files), each bounded by what a job can carry, all by MaxActionFiles. msg says, in Keptn's words,
// why they cannot be read.
func (d *Dispatcher) taskFiles(ctx context.Context, rs store.EventRuleSet, a api.KeptnAction, ev api.Event) (out []map[string][]byte, msg string) {
	out = make([]map[string][]byte, len(a.Tasks))
	total := 0
	for j, t := range a.Tasks {
		if len(t.Files) == 0 {
			continue
		}
		if d.opts.Repos == nil || rs.Runner == "" {
			return nil, fmt.Sprintf("could not retrieve resources for task '%v': no repository to read them from", t.Name)
		}
		files, err := d.opts.Repos.ReadFiles(ctx, rs.Runner, commitOf(ev), t.Files, executor.MaxInputFiles)
		var missing *gitsource.PathNotFoundError
		switch {
		case errors.As(err, &missing):
			return nil, fmt.Sprintf("could not find file or directory %s for task %s", missing.Path, t.Name)
		case err != nil:
			return nil, fmt.Sprintf("could not retrieve resources for task '%v': %v", t.Name, err)
		}
		out[j] = files
		for _, b := range files {
			total += len(b)
		}
		if total > MaxActionFiles {
			return nil, fmt.Sprintf("could not retrieve resources for task '%v': the action's files hold more than %d MiB", t.Name, MaxActionFiles>>20)
		}
	}
	return out, ""
}

// Keptn's job-executor's words when its config cannot be had.
const (
	msgNoConfig  = "could not retrieve config for job-executor-service: error retrieving job config: unable to find job configuration"
	msgBadConfig = "could not retrieve config for job-executor-service: error parsing job configuration: "
)

// config returns rs with the actions of the config it names in its runner's repository at ev's commit (rs itself
// when it has its actions). msg says, as the job-executor does, why there is none.
func (d *Dispatcher) config(ctx context.Context, rs store.EventRuleSet, ev api.Event) (store.EventRuleSet, string) {
	if rs.Path == "" {
		return rs, ""
	}
	if d.opts.Repos == nil {
		return rs, msgNoConfig + ": this server reads no repositories"
	}
	p := strings.TrimLeft(rs.Path, "/")
	files, err := d.opts.Repos.ReadFiles(ctx, rs.Runner, commitOf(ev), []string{p}, MaxConfigBytes)
	var missing *gitsource.PathNotFoundError
	switch {
	case errors.As(err, &missing):
		return rs, msgNoConfig
	case errors.Is(err, gitsource.ErrTooLarge):
		return rs, msgBadConfig + fmt.Sprintf("config: larger than %d bytes", MaxConfigBytes)
	case err != nil:
		return rs, msgNoConfig + ": " + err.Error()
	}
	b, ok := files[p]
	if !ok {
		return rs, msgNoConfig + ": " + p + " is a directory"
	}
	cfg, err := ParseConfig(b)
	if err != nil {
		return rs, msgBadConfig + err.Error()
	}
	rs.APIVersion, rs.Actions = cfg.APIVersion, cfg.Actions
	return rs, ""
}
