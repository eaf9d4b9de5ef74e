package storetest

import (
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

func promise(name string) api.Promise {
	return api.Promise{
		APIVersion: api.KratixAPIVersion, Kind: api.KindPromise,
		Metadata: api.ObjectMeta{Name: name, Labels: map[string]string{api.PromiseVersionLabel: "v1"},
			Annotations: map[string]string{"a": "<b> & c"}},
		Spec: api.PromiseSpec{
			API:              json.RawMessage(`{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition"}`),
			RequiredPromises: []api.RequiredPromise{{Name: "other", Version: "v2"}},
			Dependencies:     []json.RawMessage{json.RawMessage(`{"kind":"Namespace"}`)},
			Workflows: api.PromiseWorkflows{Resource: api.WorkflowActions{Configure: []api.Pipeline{{
				Kind: "Pipeline", Metadata: api.PipelineMetadata{Name: "p"},
				Spec: api.PipelineSpec{Containers: []api.PipelineContainer{{Name: "c", Image: "i"}}}}}}},
			DestinationSelectors: []api.PromiseScheduling{{MatchLabels: map[string]string{"env": "dev"}}},
		},
		Status: api.PromiseStatus{Status: api.PromiseStatusUnavailable, Message: "Pending",
			Conditions: []api.Condition{{Type: "Available", Status: "False", LastTransitionTime: base}}},
	}
}

func request(name, namespace, spec string) api.ResourceRequest {
	return api.ResourceRequest{APIVersion: "example.dev/v1", Kind: "Thing",
		Metadata: api.ObjectMeta{Name: name, Namespace: namespace, Labels: map[string]string{"team": "a"}},
		Spec:     json.RawMessage(spec), Status: json.RawMessage(`{"message":"Pending"}`)}
}

// serverMeta drops what the store sets, after checking it is set.
func serverMeta(t *testing.T, m *api.ObjectMeta, generation, version int64) {
	t.Helper()
	if m.Generation != generation || m.ResourceVersion != strconv.FormatInt(version, 10) || m.UID == "" || m.CreationTimestamp == nil {
		t.Errorf("metadata %s: generation %d, resourceVersion %q, uid %q, created %v; want generation %d, version %d",
			m.Name, m.Generation, m.ResourceVersion, m.UID, m.CreationTimestamp, generation, version)
	}
	m.Generation, m.ResourceVersion, m.UID, m.CreationTimestamp = 0, "", "", nil
}

func testPromiseRoundTrip(t *testing.T, s store.Store) {
	ctx := t.Context()
	want := promise("redis")
	got, err := s.CreatePromise(ctx, want)
	must(t, "CreatePromise", err)
	if got.Version != 1 {
		t.Errorf("CreatePromise version = %d, want 1", got.Version)
	}
	read, err := s.GetPromise(ctx, "redis")
	must(t, "GetPromise", err)
	if diff := cmp.Diff(got, read, opts); diff != "" {
		t.Errorf("GetPromise differs from what CreatePromise returned (-create +get):\n%s", diff)
	}
	serverMeta(t, &read.Metadata, 1, 1)
	if diff := cmp.Diff(want, read.Promise, opts); diff != "" {
		t.Errorf("GetPromise(redis) (-want +got):\n%s", diff)
	}
	_, err = s.CreatePromise(ctx, promise("redis"))
	checkErr(t, "CreatePromise(redis) again", err, store.ErrConflict, `promise "redis" already exists`)
	_, err = s.GetPromise(ctx, "nope")
	checkErr(t, "GetPromise(nope)", err, store.ErrNotFound, `promise "nope" not found`)
	_, err = s.CreatePromise(ctx, promise("a-first"))
	must(t, "CreatePromise", err)
	list, err := s.ListPromises(ctx)
	must(t, "ListPromises", err)
	if len(list) != 2 || list[0].Metadata.Name != "a-first" || list[1].Metadata.Name != "redis" {
		t.Errorf("ListPromises = %d promises, want a-first, redis", len(list))
	}
}

func testPromiseVersions(t *testing.T, s store.Store) {
	ctx := t.Context()
	p := promise("kafka")
	_, err := s.CreatePromise(ctx, p)
	must(t, "CreatePromise", err)

	// Labels only: the generation stays, the version moves.
	p.Metadata.Labels["x"] = "y"
	got, err := s.UpdatePromise(ctx, p, 1)
	must(t, "UpdatePromise(labels)", err)
	if got.Metadata.Generation != 1 || got.Version != 2 || got.Metadata.Labels["x"] != "y" {
		t.Errorf("UpdatePromise(labels) generation %d version %d labels %v, want 1, 2", got.Metadata.Generation, got.Version, got.Metadata.Labels)
	}
	if got.Status.Message != "Pending" {
		t.Errorf("UpdatePromise lost the status: %+v", got.Status)
	}
	// The spec: the generation moves too.
	p.Spec.RequiredPromises = nil
	got, err = s.UpdatePromise(ctx, p, 0)
	must(t, "UpdatePromise(spec)", err)
	if got.Metadata.Generation != 2 || got.Version != 3 {
		t.Errorf("UpdatePromise(spec) generation %d version %d, want 2, 3", got.Metadata.Generation, got.Version)
	}
	_, err = s.UpdatePromise(ctx, p, 2)
	checkErr(t, "UpdatePromise at an old version", err, store.ErrConflict, `promise "kafka" was changed: it is at version 3, not 2`)
	st := api.PromiseStatus{Status: api.PromiseStatusAvailable, Message: "Available", ObservedGeneration: 2}
	got, err = s.SetPromiseStatus(ctx, "kafka", 3, st)
	must(t, "SetPromiseStatus", err)
	if got.Metadata.Generation != 2 || got.Version != 4 || !cmp.Equal(got.Status, st, opts) || len(got.Spec.Workflows.Resource.Configure) != 1 {
		t.Errorf("SetPromiseStatus = generation %d version %d status %+v", got.Metadata.Generation, got.Version, got.Status)
	}
	_, err = s.SetPromiseStatus(ctx, "kafka", 3, st)
	checkErr(t, "SetPromiseStatus at an old version", err, store.ErrConflict, "")
	_, err = s.SetPromiseStatus(ctx, "nope", 0, st)
	checkErr(t, "SetPromiseStatus(nope)", err, store.ErrNotFound, `promise "nope" not found`)
	p.Metadata.Name = "nope"
	_, err = s.UpdatePromise(ctx, p, 0)
	checkErr(t, "UpdatePromise(nope)", err, store.ErrNotFound, `promise "nope" not found`)
}

func testPromiseDeleteWithRequests(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, err := s.CreatePromise(ctx, promise("redis"))
	must(t, "CreatePromise", err)
	_, err = s.CreateResourceRequest(ctx, "redis", request("r1", "default", `{}`))
	must(t, "CreateResourceRequest", err)
	_, err = s.CreateResourceRequest(ctx, "nope", request("r1", "default", `{}`))
	checkErr(t, "CreateResourceRequest of a missing promise", err, store.ErrInvalid, `promise "nope" not found`)
	checkErr(t, "DeletePromise with a request", s.DeletePromise(ctx, "redis"), store.ErrConflict,
		`promise "redis" has 1 resource request: delete them first`)
	must(t, "DeleteResourceRequest", s.DeleteResourceRequest(ctx, "redis", "default", "r1"))
	checkErr(t, "DeleteResourceRequest again", s.DeleteResourceRequest(ctx, "redis", "default", "r1"), store.ErrNotFound,
		`redis "r1" not found in namespace "default"`)
	must(t, "DeletePromise", s.DeletePromise(ctx, "redis"))
	checkErr(t, "DeletePromise again", s.DeletePromise(ctx, "redis"), store.ErrNotFound, `promise "redis" not found`)
}

func testRequestLifecycle(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, err := s.CreatePromise(ctx, promise("redis"))
	must(t, "CreatePromise", err)
	want := request("r1", "team-a", `{"size": "small", "n": [1, 2]}`)
	got, err := s.CreateResourceRequest(ctx, "redis", want)
	must(t, "CreateResourceRequest", err)
	read, err := s.GetResourceRequest(ctx, "redis", "team-a", "r1")
	must(t, "GetResourceRequest", err)
	if diff := cmp.Diff(got, read, opts); diff != "" {
		t.Errorf("GetResourceRequest differs from what CreateResourceRequest returned (-create +get):\n%s", diff)
	}
	serverMeta(t, &read.Metadata, 1, 1)
	want.Spec = json.RawMessage(`{"size":"small","n":[1,2]}`) // compacted
	if diff := cmp.Diff(store.ResourceRequest{Promise: "redis", ResourceRequest: want, Version: 1}, read, opts); diff != "" {
		t.Errorf("GetResourceRequest (-want +got):\n%s", diff)
	}
	_, err = s.CreateResourceRequest(ctx, "redis", request("r1", "team-a", `{}`))
	checkErr(t, "CreateResourceRequest again", err, store.ErrConflict, `redis "r1" already exists in namespace "team-a"`)
	_, err = s.CreateResourceRequest(ctx, "redis", request("r1", "team-b", `{}`))
	must(t, "CreateResourceRequest(team-b)", err)
	_, err = s.CreateResourceRequest(ctx, "redis", request("r0", "team-b", `{}`))
	must(t, "CreateResourceRequest(team-b r0)", err)
	all, err := s.ListResourceRequests(ctx, "redis", "")
	must(t, "ListResourceRequests", err)
	var names []string
	for _, r := range all {
		names = append(names, r.Metadata.Namespace+"/"+r.Metadata.Name)
	}
	if diff := cmp.Diff([]string{"team-a/r1", "team-b/r0", "team-b/r1"}, names); diff != "" {
		t.Errorf("ListResourceRequests(all) (-want +got):\n%s", diff)
	}
	inB, err := s.ListResourceRequests(ctx, "redis", "team-b")
	must(t, "ListResourceRequests(team-b)", err)
	none, err := s.ListResourceRequests(ctx, "other", "")
	must(t, "ListResourceRequests(other)", err)
	if len(inB) != 2 || none == nil || len(none) != 0 {
		t.Errorf("ListResourceRequests: team-b %d, other %v", len(inB), none)
	}

	// Labels only: the generation stays.
	up := want
	up.Metadata.Labels = map[string]string{"team": "b"}
	got, err = s.UpdateResourceRequest(ctx, "redis", up, 1)
	must(t, "UpdateResourceRequest(labels)", err)
	if got.Metadata.Generation != 1 || got.Version != 2 || string(got.Status) != `{"message":"Pending"}` {
		t.Errorf("UpdateResourceRequest(labels) generation %d version %d status %s", got.Metadata.Generation, got.Version, got.Status)
	}
	up.Spec = json.RawMessage(`{"size":"large"}`)
	got, err = s.UpdateResourceRequest(ctx, "redis", up, 2)
	must(t, "UpdateResourceRequest(spec)", err)
	if got.Metadata.Generation != 2 || got.Version != 3 || string(got.Spec) != `{"size":"large"}` {
		t.Errorf("UpdateResourceRequest(spec) generation %d version %d spec %s", got.Metadata.Generation, got.Version, got.Spec)
	}
	_, err = s.UpdateResourceRequest(ctx, "redis", up, 2)
	checkErr(t, "UpdateResourceRequest at an old version", err, store.ErrConflict, `redis "r1" was changed: it is at version 3, not 2`)
	got, err = s.SetResourceRequestStatus(ctx, "redis", "team-a", "r1", 3, json.RawMessage(`{"message": "Resource requested"}`))
	must(t, "SetResourceRequestStatus", err)
	if got.Metadata.Generation != 2 || got.Version != 4 || string(got.Status) != `{"message":"Resource requested"}` || string(got.Spec) != `{"size":"large"}` {
		t.Errorf("SetResourceRequestStatus = generation %d version %d status %s spec %s", got.Metadata.Generation, got.Version, got.Status, got.Spec)
	}
	_, err = s.SetResourceRequestStatus(ctx, "redis", "team-a", "nope", 0, json.RawMessage(`{}`))
	checkErr(t, "SetResourceRequestStatus(nope)", err, store.ErrNotFound, `redis "nope" not found in namespace "team-a"`)
	_, err = s.GetResourceRequest(ctx, "redis", "team-c", "r1")
	checkErr(t, "GetResourceRequest(team-c)", err, store.ErrNotFound, `redis "r1" not found in namespace "team-c"`)
}

// testRequestUpdateConcurrent: of several writers from one version, exactly one succeeds.
func testRequestUpdateConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, err := s.CreatePromise(ctx, promise("redis"))
	must(t, "CreatePromise", err)
	_, err = s.CreateResourceRequest(ctx, "redis", request("r1", "default", `{}`))
	must(t, "CreateResourceRequest", err)
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			r := request("r1", "default", `{"i":`+strconv.Itoa(i)+`}`)
			_, errs[i] = s.UpdateResourceRequest(ctx, "redis", r, 1)
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !isConflict(err):
			t.Errorf("UpdateResourceRequest = %v, want nil or ErrConflict", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d concurrent updates from version 1 succeeded, want 1", ok)
	}
}

func isConflict(err error) bool { return errors.Is(err, store.ErrConflict) }
