package storetest

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

func definition(namespace, name string) api.CompositionDefinition {
	return api.CompositionDefinition{
		APIVersion: api.KrateoCoreAPIVersion, Kind: api.KindCompositionDefinition,
		Metadata: api.ObjectMeta{Name: name, Namespace: namespace, Annotations: map[string]string{"krateo.io/connector-verbose": "true"}},
		Spec: api.CompositionDefinitionSpec{Chart: &api.ChartInfo{URL: "oci://registry.example/charts", Repo: "fireworks-app",
			Version: "0.1.0", Credentials: &api.ChartCredentials{Username: "bob",
				PasswordRef: api.SecretKeySelector{Name: "registry", Namespace: "krateo-system", Key: "password"}}}},
		Status: api.CompositionDefinitionStatus{Conditions: []api.Condition{{Type: api.ConditionReady, Status: "False",
			Reason: "Creating", LastTransitionTime: base}}},
	}
}

func testDefinitionRoundTrip(t *testing.T, s store.Store) {
	ctx := t.Context()
	want := definition("krateo-system", "fireworks")
	got, err := s.CreateCompositionDefinition(ctx, want)
	must(t, "CreateCompositionDefinition", err)
	if got.Version != 1 || got.Generated != nil {
		t.Errorf("CreateCompositionDefinition version %d generated %s, want 1, none", got.Version, got.Generated)
	}
	read, err := s.GetCompositionDefinition(ctx, "krateo-system", "fireworks")
	must(t, "GetCompositionDefinition", err)
	if diff := cmp.Diff(got, read, opts); diff != "" {
		t.Errorf("GetCompositionDefinition differs from what Create returned (-create +get):\n%s", diff)
	}
	serverMeta(t, &read.Metadata, 1, 1)
	if diff := cmp.Diff(want, read.CompositionDefinition, opts); diff != "" {
		t.Errorf("GetCompositionDefinition (-want +got):\n%s", diff)
	}
	_, err = s.CreateCompositionDefinition(ctx, definition("krateo-system", "fireworks"))
	checkErr(t, "CreateCompositionDefinition again", err, store.ErrConflict,
		`composition definition "fireworks" already exists in namespace "krateo-system"`)
	_, err = s.CreateCompositionDefinition(ctx, definition("demo-system", "fireworks"))
	must(t, "CreateCompositionDefinition in another namespace", err)
	_, err = s.CreateCompositionDefinition(ctx, definition("demo-system", "a-first"))
	must(t, "CreateCompositionDefinition", err)
	_, err = s.GetCompositionDefinition(ctx, "default", "fireworks")
	checkErr(t, "GetCompositionDefinition(default/fireworks)", err, store.ErrNotFound,
		`composition definition "fireworks" not found in namespace "default"`)
	for _, tt := range []struct {
		namespace string
		want      []string
	}{
		{"", []string{"demo-system/a-first", "demo-system/fireworks", "krateo-system/fireworks"}},
		{"demo-system", []string{"demo-system/a-first", "demo-system/fireworks"}},
		{"nope", []string{}},
	} {
		list, err := s.ListCompositionDefinitions(ctx, tt.namespace)
		must(t, "ListCompositionDefinitions", err)
		names := []string{}
		for _, d := range list {
			names = append(names, d.Metadata.Namespace+"/"+d.Metadata.Name)
		}
		if !cmp.Equal(names, tt.want) {
			t.Errorf("ListCompositionDefinitions(%q) = %v, want %v", tt.namespace, names, tt.want)
		}
	}
	must(t, "DeleteCompositionDefinition", s.DeleteCompositionDefinition(ctx, "demo-system", "fireworks"))
	checkErr(t, "DeleteCompositionDefinition again", s.DeleteCompositionDefinition(ctx, "demo-system", "fireworks"),
		store.ErrNotFound, "")
	if _, err := s.GetCompositionDefinition(ctx, "krateo-system", "fireworks"); err != nil {
		t.Errorf("deleting demo-system/fireworks touched krateo-system/fireworks: %v", err)
	}
}

func testDefinitionVersions(t *testing.T, s store.Store) {
	ctx := t.Context()
	d := definition("default", "pg")
	_, err := s.CreateCompositionDefinition(ctx, d)
	must(t, "CreateCompositionDefinition", err)

	// Annotations only: the generation stays, the version moves, the status is kept.
	d.Metadata.Annotations["krateo.io/paused"] = "true"
	got, err := s.UpdateCompositionDefinition(ctx, d, 1)
	must(t, "UpdateCompositionDefinition(annotations)", err)
	if got.Metadata.Generation != 1 || got.Version != 2 || got.Metadata.Annotations["krateo.io/paused"] != "true" ||
		len(got.Status.Conditions) != 1 {
		t.Errorf("UpdateCompositionDefinition(annotations) = generation %d version %d %+v", got.Metadata.Generation, got.Version, got.CompositionDefinition)
	}
	// The spec: the generation moves too.
	d.Spec.Chart.Version = "0.2.0"
	got, err = s.UpdateCompositionDefinition(ctx, d, 0)
	must(t, "UpdateCompositionDefinition(spec)", err)
	if got.Metadata.Generation != 2 || got.Version != 3 {
		t.Errorf("UpdateCompositionDefinition(spec) generation %d version %d, want 2, 3", got.Metadata.Generation, got.Version)
	}
	_, err = s.UpdateCompositionDefinition(ctx, d, 2)
	checkErr(t, "UpdateCompositionDefinition at an old version", err, store.ErrConflict,
		`composition definition default/pg was changed: it is at version 3, not 2`)

	st := api.CompositionDefinitionStatus{APIVersion: "composition.krateo.io/v0-2-0", Kind: "Pg", Resource: "pgs",
		Digest: "sha256:abc", ObservedGeneration: 2}
	crd := json.RawMessage(`{"kind":"CustomResourceDefinition"}`)
	got, err = s.SetCompositionDefinitionStatus(ctx, "default", "pg", 3, st, crd)
	must(t, "SetCompositionDefinitionStatus", err)
	if got.Metadata.Generation != 2 || got.Version != 4 || !cmp.Equal(got.Status, st, opts) || string(got.Generated) != string(crd) ||
		got.Spec.Chart.Version != "0.2.0" {
		t.Errorf("SetCompositionDefinitionStatus = generation %d version %d status %+v generated %s", got.Metadata.Generation,
			got.Version, got.Status, got.Generated)
	}
	// nil keeps the generated type.
	st.Digest = "sha256:def"
	got, err = s.SetCompositionDefinitionStatus(ctx, "default", "pg", 0, st, nil)
	must(t, "SetCompositionDefinitionStatus(nil generated)", err)
	if string(got.Generated) != string(crd) || got.Status.Digest != "sha256:def" {
		t.Errorf("SetCompositionDefinitionStatus(nil) = generated %s digest %q", got.Generated, got.Status.Digest)
	}
	// A spec write keeps the status and the generated type.
	d.Spec.Chart.Version = "0.3.0"
	got, err = s.UpdateCompositionDefinition(ctx, d, 0)
	must(t, "UpdateCompositionDefinition(spec again)", err)
	if string(got.Generated) != string(crd) || got.Status.Digest != "sha256:def" {
		t.Errorf("UpdateCompositionDefinition lost status or generated: %+v %s", got.Status, got.Generated)
	}
	_, err = s.SetCompositionDefinitionStatus(ctx, "default", "pg", 4, st, nil)
	checkErr(t, "SetCompositionDefinitionStatus at an old version", err, store.ErrConflict, "")
	_, err = s.SetCompositionDefinitionStatus(ctx, "default", "nope", 0, st, nil)
	checkErr(t, "SetCompositionDefinitionStatus(nope)", err, store.ErrNotFound, `composition definition "nope" not found in namespace "default"`)
	d.Metadata.Name = "nope"
	_, err = s.UpdateCompositionDefinition(ctx, d, 0)
	checkErr(t, "UpdateCompositionDefinition(nope)", err, store.ErrNotFound, `composition definition "nope" not found in namespace "default"`)
}
