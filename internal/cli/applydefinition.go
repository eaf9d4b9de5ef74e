package cli

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
	"github.com/runplane/runplane/internal/platform/chart"
)

// Krateo documents. A CompositionDefinition (apiVersion core.krateo.io/v1alpha1) is read as Krateo writes it and
// sent to /compositiondefinitions/<namespace>/<name>; the server reads its chart.

func parseDefinitionDoc(doc []byte) (manifest, error) {
	d, err := chart.Parse(doc)
	if err != nil {
		return manifest{kind: kindDefinition}, fmt.Errorf("%s: %w", kindDefinition, err)
	}
	return manifest{kind: kindDefinition, definition: d}, nil
}

func sameDefinition(want, cur api.CompositionDefinition) bool {
	return reflect.DeepEqual(emptyNil(want.Metadata.Labels), emptyNil(cur.Metadata.Labels)) &&
		reflect.DeepEqual(emptyNil(want.Metadata.Annotations), emptyNil(cur.Metadata.Annotations)) && sameJSON(want.Spec, cur.Spec)
}

// planDefinition plans a definition's change: POST when new, PUT when its labels, annotations or spec differ.
func planDefinition(ctx context.Context, c *client.Client, m manifest) (planned, error) {
	d := m.definition
	p := planned{m: m}
	cur, err := c.GetCompositionDefinition(ctx, d.Metadata.Namespace, d.Metadata.Name)
	switch {
	case errors.Is(err, client.ErrNotFound):
		p.result = "created"
		p.req, err = planReq("POST", "/compositiondefinitions", d)
	case err != nil:
	case sameDefinition(d, cur):
		p.result = "unchanged"
	default:
		p.result = "configured"
		p.req, err = planReq("PUT", "/compositiondefinitions/"+d.Metadata.Namespace+"/"+d.Metadata.Name, d)
	}
	return p, err
}

// applyDefinition creates or replaces a definition and says which it did, and whether its chart made a type.
func applyDefinition(ctx context.Context, c *client.Client, m manifest) (string, error) {
	d := m.definition
	cur, err := c.GetCompositionDefinition(ctx, d.Metadata.Namespace, d.Metadata.Name)
	var stored api.CompositionDefinition
	result := "configured"
	switch {
	case errors.Is(err, client.ErrNotFound):
		result = "created"
		stored, err = c.CreateCompositionDefinition(ctx, d)
	case err != nil:
		return "", err
	case sameDefinition(d, cur):
		return "unchanged" + readiness(cur.Status), nil
	default:
		stored, err = c.UpdateCompositionDefinition(ctx, d)
	}
	if err != nil {
		return "", err
	}
	return result + readiness(stored.Status), nil
}

// readiness says what a definition's chart came to: its type, or why it made none.
func readiness(st api.CompositionDefinitionStatus) string {
	for _, c := range st.Conditions {
		if c.Type != api.ConditionReady {
			continue
		}
		if c.Status == "True" {
			return fmt.Sprintf(" (ready: %s %s)", st.APIVersion, st.Kind)
		}
		return fmt.Sprintf(" (not ready: %s: %s)", c.Reason, c.Message)
	}
	return ""
}
