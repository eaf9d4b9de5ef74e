package controller

import (
	"bytes"
	"context"
	"fmt"

	"sigs.k8s.io/yaml"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/platform/statestore"
)

// dependenciesPipeline is the pipeline name status.kratix.outputs gives a promise's static dependencies (their
// placements have no pipeline: statestore writes them under dependencies/<promise>/<group>/).
const dependenciesPipeline = ""

// dependencies is the file Kratix makes of a promise's spec.dependencies (NewPromiseDependenciesWork): every
// manifest as YAML, one document each, at static/<promise>-dependencies.yaml; nil when there are none.
func dependencies(p api.Promise) ([]statestore.File, error) {
	if len(p.Spec.Dependencies) == 0 {
		return nil, nil
	}
	var buf bytes.Buffer
	for i, d := range p.Spec.Dependencies {
		y, err := yaml.JSONToYAML(d)
		if err != nil {
			return nil, fmt.Errorf("spec.dependencies[%d]: %w", i, err)
		}
		if i > 0 {
			buf.WriteString("---\n")
		}
		buf.Write(y)
	}
	return []statestore.File{{Path: "static/" + p.Metadata.Name + "-dependencies.yaml", Content: buf.Bytes()}}, nil
}

// placeDependencies writes a promise's static dependencies to every destination its selectors pick (and removes
// them from where they no longer go), and returns st with status.kratix.outputs saying where they went.
func (c *Controller) placeDependencies(ctx context.Context, o *object, st map[string]any) (map[string]any, error) {
	files, err := dependencies(o.promise.Promise)
	if err != nil {
		return nil, &outputError{err}
	}
	var paths []string
	for _, f := range files {
		paths = append(paths, f.Path)
	}
	outs, err := c.placeFiles(ctx, o, dependenciesPipeline, paths, nil, func([]string) ([]statestore.File, error) { return files, nil })
	if err != nil {
		return nil, err
	}
	return setOutputs(st, dependenciesPipeline, outs), nil
}
