package jobfiles

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/runplane/runplane/api"
)

// The metadata files a container may write, as Kratix names them.
const (
	StatusFile               = "status.yaml"
	DestinationSelectorsFile = "destination-selectors.yaml"
	WorkflowControlFile      = "workflow-control.yaml"
)

// maxMetadataFile bounds each metadata file read.
const maxMetadataFile = 1 << 20

// MetadataError is a metadata file that could not be read as what it must be; the job that wrote it fails with it.
type MetadataError struct {
	File string // "metadata/status.yaml"
	Err  error
}

func (e *MetadataError) Error() string { return e.File + ": " + e.Err.Error() }
func (e *MetadataError) Unwrap() error { return e.Err }

// Metadata parses the metadata files job id kept: nil when there are none (or none with content), a
// *MetadataError naming the file (and the line, for malformed YAML) when one is not what it must be.
func (s *Store) Metadata(id string) (*api.JobMetadata, error) {
	root, err := s.root(id, MetadataDir)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer root.Close()
	read := func(name string) ([]byte, error) {
		info, err := root.Lstat(name)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		if err != nil {
			return nil, &MetadataError{File: MetadataDir + "/" + name, Err: err}
		}
		if !info.Mode().IsRegular() {
			return nil, &MetadataError{File: MetadataDir + "/" + name, Err: errors.New("not a regular file")}
		}
		f, err := root.Open(name)
		if err != nil {
			return nil, &MetadataError{File: MetadataDir + "/" + name, Err: err}
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, maxMetadataFile+1))
		if err != nil {
			return nil, &MetadataError{File: MetadataDir + "/" + name, Err: err}
		}
		if len(b) > maxMetadataFile {
			return nil, &MetadataError{File: MetadataDir + "/" + name, Err: fmt.Errorf("larger than %d KiB", maxMetadataFile>>10)}
		}
		return b, nil
	}
	var md api.JobMetadata
	for _, f := range []struct {
		name string
		kind string // what the document must be
		dst  *json.RawMessage
	}{
		{StatusFile, "object", &md.Status},
		{DestinationSelectorsFile, "list", &md.DestinationSelectors},
		{WorkflowControlFile, "object", &md.WorkflowControl},
	} {
		b, err := read(f.name)
		if err != nil {
			return nil, err
		}
		j, err := ParseMetadataFile(b, f.kind)
		if err != nil {
			return nil, &MetadataError{File: MetadataDir + "/" + f.name, Err: err}
		}
		*f.dst = j
	}
	if md.Status == nil && md.DestinationSelectors == nil && md.WorkflowControl == nil {
		return nil, nil
	}
	return &md, nil
}

// ParseMetadataFile reads one metadata file's YAML as JSON: nil for an empty document, an error naming the line
// for malformed YAML, and an error when the document is not kind ("object" or "list").
func ParseMetadataFile(b []byte, kind string) (json.RawMessage, error) {
	if strings.TrimSpace(string(b)) == "" {
		return nil, nil
	}
	j, err := yaml.YAMLToJSON(b)
	if err != nil {
		return nil, fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "error converting YAML to JSON: "))
	}
	t := strings.TrimSpace(string(j))
	switch {
	case t == "null":
		return nil, nil
	case kind == "object" && !strings.HasPrefix(t, "{"):
		return nil, errors.New("must be a YAML mapping")
	case kind == "list" && !strings.HasPrefix(t, "["):
		return nil, errors.New("must be a YAML list")
	}
	return json.RawMessage(j), nil
}
