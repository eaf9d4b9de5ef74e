package storetest

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

func composition(name, namespace, apiVersion, spec string) api.ResourceRequest {
	return api.ResourceRequest{APIVersion: apiVersion, Kind: "FireworksApp",
		Metadata: api.ObjectMeta{Name: name, Namespace: namespace, Labels: map[string]string{"krateo.io/release-name": name + "-rel"}},
		Spec:     json.RawMessage(spec), Status: json.RawMessage(`{"conditions":[]}`)}
}

// testCompositionLifecycle: compositions are kept by (resource, namespace, name) with the apiVersion they were
// written with; a relabel (new apiVersion) without a spec change keeps the generation.
func testCompositionLifecycle(t *testing.T, s store.Store) {
	ctx := t.Context()
	const res = "fireworksapps"
	want := composition("fw", "demo", "composition.krateo.io/v0-1-0", `{"app": {"service": {"port": 31180}}}`)
	got, err := s.CreateComposition(ctx, res, want)
	must(t, "CreateComposition", err)
	read, err := s.GetComposition(ctx, res, "demo", "fw")
	must(t, "GetComposition", err)
	if diff := cmp.Diff(got, read, opts); diff != "" {
		t.Errorf("GetComposition differs from what CreateComposition returned (-create +get):\n%s", diff)
	}
	serverMeta(t, &read.Metadata, 1, 1)
	want.Spec = json.RawMessage(`{"app":{"service":{"port":31180}}}`)
	if diff := cmp.Diff(store.Composition{Resource: res, ResourceRequest: want, Version: 1}, read, opts); diff != "" {
		t.Errorf("GetComposition (-want +got):\n%s", diff)
	}
	_, err = s.CreateComposition(ctx, res, composition("fw", "demo", "composition.krateo.io/v0-1-0", `{}`))
	checkErr(t, "CreateComposition again", err, store.ErrConflict, `fireworksapps "fw" already exists in namespace "demo"`)
	for _, c := range []struct{ res, ns, name string }{{res, "other", "fw"}, {res, "other", "a"}, {"redisapps", "demo", "fw"}} {
		_, err := s.CreateComposition(ctx, c.res, composition(c.name, c.ns, "composition.krateo.io/v1-0-0", `{}`))
		must(t, "CreateComposition("+c.res+" "+c.ns+"/"+c.name+")", err)
	}
	for _, tt := range []struct {
		name, res, namespace string
		want                 []string
	}{
		{"every namespace", res, "", []string{"demo/fw", "other/a", "other/fw"}},
		{"one namespace", res, "other", []string{"other/a", "other/fw"}},
		{"another type", "redisapps", "", []string{"demo/fw"}},
		{"no such type", "nopes", "", []string{}},
	} {
		list, err := s.ListCompositions(ctx, tt.res, tt.namespace)
		must(t, "ListCompositions", err)
		names := []string{}
		for _, c := range list {
			names = append(names, c.Metadata.Namespace+"/"+c.Metadata.Name)
		}
		if diff := cmp.Diff(tt.want, names); diff != "" {
			t.Errorf("%s: ListCompositions(%q, %q) (-want +got):\n%s", tt.name, tt.res, tt.namespace, diff)
		}
	}

	// A relabel to another chart version: apiVersion and labels change, the spec and generation stay.
	up := want
	up.APIVersion = "composition.krateo.io/v0-2-0"
	up.Metadata.Labels = map[string]string{"krateo.io/composition-version": "v0-2-0"}
	got, err = s.UpdateComposition(ctx, res, up, 1)
	must(t, "UpdateComposition(relabel)", err)
	if got.Metadata.Generation != 1 || got.Version != 2 || got.APIVersion != up.APIVersion || string(got.Status) != `{"conditions":[]}` {
		t.Errorf("UpdateComposition(relabel) = generation %d version %d apiVersion %s status %s, want 1 2 %s kept",
			got.Metadata.Generation, got.Version, got.APIVersion, got.Status, up.APIVersion)
	}
	up.Spec = json.RawMessage(`{"app":{"service":{"port":31181}}}`)
	got, err = s.UpdateComposition(ctx, res, up, 2)
	must(t, "UpdateComposition(spec)", err)
	if got.Metadata.Generation != 2 || got.Version != 3 {
		t.Errorf("UpdateComposition(spec) = generation %d version %d, want 2 3", got.Metadata.Generation, got.Version)
	}
	_, err = s.UpdateComposition(ctx, res, up, 2)
	checkErr(t, "UpdateComposition at an old version", err, store.ErrConflict, `fireworksapps "fw" was changed: it is at version 3, not 2`)
	got, err = s.SetCompositionStatus(ctx, res, "demo", "fw", 3, json.RawMessage(`{"helmChartVersion": "0.2.0"}`))
	must(t, "SetCompositionStatus", err)
	if got.Metadata.Generation != 2 || got.Version != 4 || string(got.Status) != `{"helmChartVersion":"0.2.0"}` {
		t.Errorf("SetCompositionStatus = generation %d version %d status %s", got.Metadata.Generation, got.Version, got.Status)
	}
	_, err = s.SetCompositionStatus(ctx, res, "demo", "nope", 0, json.RawMessage(`{}`))
	checkErr(t, "SetCompositionStatus(nope)", err, store.ErrNotFound, `fireworksapps "nope" not found in namespace "demo"`)
	must(t, "DeleteComposition", s.DeleteComposition(ctx, res, "demo", "fw"))
	err = s.DeleteComposition(ctx, res, "demo", "fw")
	checkErr(t, "DeleteComposition again", err, store.ErrNotFound, `fireworksapps "fw" not found in namespace "demo"`)
	_, err = s.GetComposition(ctx, res, "demo", "fw")
	checkErr(t, "GetComposition after delete", err, store.ErrNotFound, `fireworksapps "fw" not found in namespace "demo"`)
	if _, err := s.GetComposition(ctx, "redisapps", "demo", "fw"); err != nil {
		t.Errorf("GetComposition(redisapps demo/fw) after deleting another type's = %v, want it kept", err)
	}
}
