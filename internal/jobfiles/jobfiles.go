// Package jobfiles keeps the files a multi-container job's containers left in their output and metadata
// directories, one directory per job in the data dir, so that they outlive the attempt: listed and downloaded
// through the API, and the metadata files (Kratix's status.yaml, destination-selectors.yaml,
// workflow-control.yaml) parsed into the job.
//
// Executors copy the files into Dir(id) (output/ and metadata/). This package reads them without following any
// link out of the job's directory, and never runs or interprets what a job wrote beyond the three metadata files.
package jobfiles

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// ErrNotFound: the job kept no such file.
var ErrNotFound = errors.New("jobfiles: not found")

// The directories of Dir(id) that executors fill.
const (
	OutputDir   = "output"
	MetadataDir = "metadata"
)

// Store is the kept files of every job, under one directory.
type Store struct {
	dir string
}

// Open makes (0700) and returns the store in dir.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("jobfiles: %w", err)
	}
	return &Store{dir: dir}, nil
}

// validID accepts the job ids the engine makes (lowercase letters, digits, '-', '_', '.'), nothing that could
// name another directory.
func validID(id string) bool {
	if id == "" || len(id) > 128 || id[0] == '.' {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// Prepare makes (0700) and returns job id's directory, for an executor's executor.Spec.Keep.
func (s *Store) Prepare(id string) (string, error) {
	if !validID(id) {
		return "", fmt.Errorf("jobfiles: invalid job id %q", id)
	}
	d := filepath.Join(s.dir, id)
	if err := os.MkdirAll(d, 0o700); err != nil {
		return "", fmt.Errorf("jobfiles: %w", err)
	}
	return d, nil
}

// File is one kept output file.
type File struct {
	// Path is the file's path in the output directory, with '/' separators.
	Path string    `json:"path"`
	Size int64     `json:"size"`
	Time time.Time `json:"mod_time"`
}

// List returns the regular files job id kept in its output directory, by path; ErrNotFound when it kept none
// (no directory). Links and other special files are left out.
func (s *Store) List(id string) ([]File, error) {
	root, err := s.root(id, OutputDir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	files := []File{}
	err = fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		files = append(files, File{Path: p, Size: info.Size(), Time: info.ModTime().UTC()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("jobfiles: list %s: %w", id, err)
	}
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	return files, nil
}

// OpenFile opens the kept output file p (a '/'-separated path in the output directory) of job id; ErrNotFound if
// there is no such regular file. The file cannot be outside the job's output directory, through ".." or a link.
func (s *Store) OpenFile(id, p string) (*os.File, fs.FileInfo, error) {
	p = strings.TrimPrefix(p, "/")
	if p == "" || !fs.ValidPath(p) {
		return nil, nil, ErrNotFound
	}
	root, err := s.root(id, OutputDir)
	if err != nil {
		return nil, nil, err
	}
	defer root.Close()
	info, err := root.Lstat(p)
	if err != nil || !info.Mode().IsRegular() {
		return nil, nil, ErrNotFound
	}
	f, err := root.Open(p)
	if err != nil {
		return nil, nil, ErrNotFound
	}
	return f, info, nil
}

// root opens the sub directory sub of job id's directory as an os.Root; ErrNotFound if it does not exist.
func (s *Store) root(id, sub string) (*os.Root, error) {
	if !validID(id) {
		return nil, ErrNotFound
	}
	d := filepath.Join(s.dir, id, sub)
	if info, err := os.Lstat(d); err != nil || !info.IsDir() {
		return nil, ErrNotFound
	}
	r, err := os.OpenRoot(d)
	if err != nil {
		return nil, fmt.Errorf("jobfiles: %w", err)
	}
	return r, nil
}

// Remove deletes everything job id kept. It is not an error if it kept nothing.
func (s *Store) Remove(id string) error {
	if !validID(id) {
		return fmt.Errorf("jobfiles: invalid job id %q", id)
	}
	if err := os.RemoveAll(filepath.Join(s.dir, id)); err != nil {
		return fmt.Errorf("jobfiles: remove: %w", err)
	}
	return nil
}

// Prune removes the files of jobs whose directory was last changed before cutoff and returns how many jobs'.
func (s *Store) Prune(cutoff time.Time) (int, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return 0, fmt.Errorf("jobfiles: prune: %w", err)
	}
	n := 0
	for _, e := range entries {
		if !e.IsDir() || !validID(e.Name()) {
			continue
		}
		info, err := e.Info()
		if err != nil || !info.ModTime().Before(cutoff) {
			continue
		}
		if os.RemoveAll(filepath.Join(s.dir, e.Name())) == nil {
			n++
		}
	}
	return n, nil
}
