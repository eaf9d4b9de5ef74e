package statestore

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/runplane/runplane/api"
)

// Writer writes placements' files to one state store.
//
// Write replaces, for each placement, the files it wrote before with p.Files, at Kratix's paths for its
// destination's filepath mode; Delete removes each placement's files. Each call is one change of the store: for
// git one commit pushed to the branch (calls made at the same time on one repository may share a commit), for a
// directory each file replaced atomically (written to a temporary file, then renamed). A call that returns nil
// has made its change durable (pushed, or renamed into place); one that returns an error may have made part of it
// (never for git: nothing is pushed) and can be retried: both are idempotent.
//
// Writers are safe for concurrent use. Writes to one repository (or directory) are serialized by a lock per
// repository; a push refused because another writer moved the branch is retried on top of it (read the new
// head, apply again) a bounded number of times, so concurrent writers lose no write and see no conflict.
//
// Errors: *InvalidError (wrapped) for a placement that cannot be written (a path that would leave the store, a
// mode the writer does not know): retrying does not help. Other errors (git or the filesystem failing) may pass
// on retry. No error carries a credential.
type Writer interface {
	Write(ctx context.Context, ps ...Placement) (Result, error)
	Delete(ctx context.Context, ps ...Placement) (Result, error)
}

// File is one file of a placement: Path is relative to the pipeline's output directory, '/'-separated, as
// Kratix's Workload.Filepath ("deployment.yaml", "monitoring/dashboard.json").
type File struct {
	Path    string
	Content []byte
}

// DependenciesNamespace is the namespace of a promise's placements (Kratix's kratix-platform-system), which
// names the tracking file of mode none.
const DependenciesNamespace = "kratix-platform-system"

// Placement is one workload group's files at one destination (Kratix's WorkPlacement).
type Placement struct {
	// Destination is where the files go; its StateStoreRef must name the writer's store.
	Destination api.Destination
	// Promise is the promise's name. Resource and Namespace are the resource request's name and namespace;
	// Resource is "" for a promise's output and its dependencies (Namespace then defaults to
	// DependenciesNamespace).
	Promise, Resource, Namespace string
	// Pipeline is the pipeline's name ("" for a promise's static dependencies).
	Pipeline string
	// GroupID is the workload group's id (schedule.Group.ID); its first five characters name the directory.
	GroupID string
	// Files are the group's files; Delete ignores them.
	Files []File
}

// InvalidError is a placement that cannot be written.
type InvalidError struct{ Msg string }

func (e *InvalidError) Error() string { return e.Msg }

func invalidf(format string, args ...any) error {
	return &InvalidError{Msg: fmt.Sprintf(format, args...)}
}

// ErrInvalid matches every *InvalidError with errors.Is.
var ErrInvalid = errors.New("statestore: invalid placement")

// Is makes errors.Is(err, ErrInvalid) true.
func (e *InvalidError) Is(target error) bool { return target == ErrInvalid }

func (p Placement) namespace() string {
	if p.Namespace == "" {
		return DependenciesNamespace
	}
	return p.Namespace
}

// Name is the placement's name as Kratix makes a WorkPlacement's: <work>.<destination>-<shortID>, where the work
// is named <promise>[-<resource>-<namespace>]-<pipeline> and a hash of that (Kratix's is random; this one is
// stable, so a placement written again has the same tracking file).
func (p Placement) Name() string {
	id := p.Promise + "-" + p.Pipeline
	if p.Resource != "" {
		id = p.Promise + "-" + p.Resource + "-" + p.namespace() + "-" + p.Pipeline
	}
	sum := md5.Sum([]byte(id))
	if len(id) > 57 {
		id = id[:56]
	}
	id = strings.TrimRight(id, "-_.")
	return id + "-" + hex.EncodeToString(sum[:])[:5] + "." + p.Destination.Name + "-" + shortID(p.GroupID)
}

func shortID(id string) string {
	if len(id) < 5 {
		return id
	}
	return id[:5]
}

// Dir is the placement's directory in mode nestedByMetadata, relative to the store's path (Kratix's getDir).
func (p Placement) Dir() string {
	if p.Resource == "" {
		return path.Join(p.Destination.Dir(), "dependencies", p.Promise, p.Pipeline, shortID(p.GroupID))
	}
	return path.Join(p.Destination.Dir(), "resources", p.namespace(), p.Promise, p.Resource, p.Pipeline, shortID(p.GroupID))
}

// check refuses a placement whose names would make paths that leave its directory.
func (p Placement) check() error {
	for _, f := range []struct{ what, v string }{{"promise", p.Promise}, {"resource", p.Resource},
		{"namespace", p.Namespace}, {"pipeline", p.Pipeline}, {"destination", p.Destination.Name}} {
		if strings.ContainsAny(f.v, "/\\\x00") || f.v == "." || f.v == ".." {
			return invalidf("placement %s %q: not a name", f.what, f.v)
		}
	}
	if p.Promise == "" || p.Destination.Name == "" {
		return invalidf("placement: promise and destination are required")
	}
	if len(p.GroupID) < 5 {
		return invalidf("placement %s: group id %q: want the workload group's id", p.Promise, p.GroupID)
	}
	if err := api.ValidateStorePath("destination path", p.Destination.Path); err != nil {
		return invalidf("placement %s: %v", p.Destination.Name, err)
	}
	for _, f := range p.Files {
		if err := checkRel(f.Path); err != nil {
			return invalidf("placement %s: file %q: %v", p.Name(), f.Path, err)
		}
	}
	return nil
}

// maxName and maxPath are Linux's NAME_MAX and PATH_MAX: a file a directory store could not write, and a checkout
// of a git store could not hold, is refused for both.
const (
	maxName = 255
	maxPath = 4096
)

// checkRel checks a path relative to a placement's directory: clean, inside it, not into .git.
func checkRel(p string) error {
	switch {
	case p == "" || strings.HasPrefix(p, "/"):
		return errors.New("want a relative path")
	case strings.ContainsAny(p, "\\\x00"):
		return errors.New("want '/' separators and no NUL")
	case path.Clean(p) != p || p == ".":
		return errors.New("want a clean path (no \".\" or empty segments, no trailing '/')")
	}
	if len(p) > maxPath {
		return fmt.Errorf("longer than %d bytes", maxPath)
	}
	for _, seg := range strings.Split(p, "/") {
		if len(seg) > maxName {
			return fmt.Errorf("a name longer than %d bytes: no filesystem a GitOps agent checks it out to takes it", maxName)
		}
		switch seg {
		case "..":
			return errors.New(`".." would leave the placement's directory`)
		case ".git":
			return errors.New("a .git directory may not be written")
		}
	}
	return nil
}

// Result says what a call changed, for a request's status to name (Kratix #823).
type Result struct {
	// Store is the state store's name.
	Store string `json:"store"`
	// Version is the commit that holds the change (git), "" for a directory store. A call that changed nothing
	// returns the branch's head.
	Version string `json:"version,omitempty"`
	// Placements say, per placement in the order given, what was written where.
	Placements []Written `json:"placements"`
}

// Written is what one placement wrote or removed, paths relative to the store's root ('/'-separated).
type Written struct {
	Name        string   `json:"name"`
	Destination string   `json:"destination"`
	Dir         string   `json:"dir,omitempty"` // nestedByMetadata: the placement's directory
	Paths       []string `json:"paths,omitempty"`
	Deleted     []string `json:"deleted,omitempty"`
}
