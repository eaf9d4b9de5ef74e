package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
	"github.com/runplane/runplane/internal/platform/chart"
	"github.com/runplane/runplane/internal/platform/promise"
)

// Krateo compositions: a document of apiVersion composition.krateo.io/<version> is an instance of the type a
// CompositionDefinition generated; it is sent, unchanged, to /compositions/<namespace>/<plural of its kind>, and
// the server checks it against that version's schema.

// isCompositionDoc reports whether a document reads as a Krateo composition.
func isCompositionDoc(fields map[string]json.RawMessage) bool {
	var av string
	if json.Unmarshal(fields["apiVersion"], &av) != nil {
		return false
	}
	group, _, _ := strings.Cut(av, "/")
	return group == api.CompositionGroup
}

func parseCompositionDoc(doc []byte) (manifest, error) {
	m := manifest{kind: kindComposition}
	if err := json.Unmarshal(doc, &m.request); err != nil {
		return m, fmt.Errorf("composition: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if err := promise.ValidateName("metadata.name", m.request.Metadata.Name); err != nil {
		return m, fmt.Errorf("%s: %w", m.request.Kind, err)
	}
	if m.request.Kind == "" {
		return m, fmt.Errorf("composition %s: kind is missing", m.request.Metadata.Name)
	}
	if m.request.Metadata.Namespace == "" {
		m.request.Metadata.Namespace = promise.DefaultNamespace
	}
	m.request.Status = nil // the server's
	return m, nil
}

// compositionResource is the plural a composition's kind has, as its definition generated it.
func compositionResource(r api.ResourceRequest) string { return chart.Plural(r.Kind) }

func sameComposition(want, cur api.ResourceRequest) bool {
	labels := emptyNil(want.Metadata.Labels)
	curLabels := map[string]string{}
	for k, v := range cur.Metadata.Labels {
		if _, ok := want.Metadata.Labels[k]; ok || k != chart.VersionLabel {
			curLabels[k] = v // the version label the server stamps is not the file's
		}
	}
	var spec map[string]any
	_ = json.Unmarshal(want.Spec, &spec)
	return want.APIVersion == cur.APIVersion && reflect.DeepEqual(labels, emptyNil(curLabels)) &&
		reflect.DeepEqual(emptyNil(want.Metadata.Annotations), emptyNil(cur.Metadata.Annotations)) && specCovered(spec, cur.Spec)
}

// specCovered reports whether every field of want has its value in the stored spec (which has defaults added).
func specCovered(want map[string]any, stored json.RawMessage) bool {
	var cur map[string]any
	if json.Unmarshal(stored, &cur) != nil {
		return false
	}
	var covers func(w, c any) bool
	covers = func(w, c any) bool {
		wm, ok := w.(map[string]any)
		if !ok {
			return reflect.DeepEqual(w, c)
		}
		cm, ok := c.(map[string]any)
		if !ok {
			return false
		}
		for k, v := range wm {
			if !covers(v, cm[k]) {
				return false
			}
		}
		return true
	}
	return covers(want, cur)
}

func planComposition(ctx context.Context, c *client.Client, m manifest) (planned, error) {
	r, res := m.request, compositionResource(m.request)
	p := planned{m: m}
	cur, err := c.GetComposition(ctx, r.Metadata.Namespace, res, r.Metadata.Name)
	base := "/compositions/" + r.Metadata.Namespace + "/" + res
	switch {
	case errors.Is(err, client.ErrNotFound):
		p.result = "created"
		p.req, err = planReq("POST", base, r)
	case err != nil:
	case sameComposition(r, cur):
		p.result = "unchanged"
	default:
		p.result = "configured"
		p.req, err = planReq("PUT", base+"/"+r.Metadata.Name, r)
	}
	return p, err
}

// applyComposition creates or replaces a composition and says which it did.
func applyComposition(ctx context.Context, c *client.Client, m manifest) (string, error) {
	r, res := m.request, compositionResource(m.request)
	cur, err := c.GetComposition(ctx, r.Metadata.Namespace, res, r.Metadata.Name)
	if errors.Is(err, client.ErrNotFound) {
		_, err = c.CreateComposition(ctx, res, r)
		return "created", err
	}
	if err != nil {
		return "", err
	}
	if sameComposition(r, cur) {
		return "unchanged", nil
	}
	_, err = c.UpdateComposition(ctx, res, r)
	return "configured", err
}
