package kubemirror_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/platform/kubemirror"
	"github.com/runplane/runplane/internal/secret"
	"github.com/runplane/runplane/internal/store"
	"github.com/runplane/runplane/internal/store/sqlite"
)

// TestNotifying: each write to a platform resource that succeeds tells its Ref once it returned; a write that fails,
// and a dry run's writes, tell nothing; the store stays a DryRunner.
func TestNotifying(t *testing.T) {
	dir := t.TempDir()
	key, err := secret.LoadOrCreateKey(filepath.Join(dir, "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := secret.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	base, err := sqlite.Open(t.Context(), filepath.Join(dir, "runplane.db"), sqlite.Options{Cipher: c})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { base.Close() })
	var told []kubemirror.Ref
	st := kubemirror.Notifying(base, func(r kubemirror.Ref) { told = append(told, r) })
	ctx := t.Context()
	promise := api.Promise{APIVersion: api.KratixAPIVersion, Kind: api.KindPromise, Metadata: api.ObjectMeta{Name: "p"}}
	request := api.ResourceRequest{APIVersion: "x.dev/v1", Kind: "X", Metadata: api.ObjectMeta{Name: "r", Namespace: "team"}}
	dirStore := api.StateStore{Kind: api.KindDirectoryStateStore, Name: "s", Path: filepath.Join(dir, "state")}
	dest := api.Destination{Name: "d", StateStoreRef: api.StateStoreRef{Kind: api.KindDirectoryStateStore, Name: "s"}}
	req := kubemirror.Ref{Kind: kubemirror.KindRequest, Promise: "p", Namespace: "team", Name: "r"}
	prom := kubemirror.Ref{Kind: api.KindPromise, Name: "p"}
	stores := []kubemirror.Ref{{Kind: api.KindDirectoryStateStore, Name: "s"}, {Kind: api.KindGitStateStore, Name: "s"}}
	destRef := kubemirror.Ref{Kind: api.KindDestination, Name: "d"}
	definition := api.CompositionDefinition{APIVersion: api.KrateoCoreAPIVersion, Kind: api.KindCompositionDefinition,
		Metadata: api.ObjectMeta{Name: "fw", Namespace: "krateo-system"}, Spec: api.CompositionDefinitionSpec{Chart: &api.ChartInfo{URL: "oci://r/c", Version: "0.1.0"}}}
	composition := api.ResourceRequest{APIVersion: "composition.krateo.io/v0-1-0", Kind: "FireworksApp", Metadata: api.ObjectMeta{Name: "c", Namespace: "demo"}}
	defRef := kubemirror.Ref{Kind: api.KindCompositionDefinition, Namespace: "krateo-system", Name: "fw"}
	compRef := kubemirror.Ref{Kind: kubemirror.KindComposition, Promise: "fireworksapps", Namespace: "demo", Name: "c"}
	tests := []struct {
		name  string
		write func(context.Context, store.Store) error
		want  []kubemirror.Ref
	}{
		{"create promise", func(ctx context.Context, s store.Store) error { _, err := s.CreatePromise(ctx, promise); return err }, []kubemirror.Ref{prom}},
		{"create promise taken", func(ctx context.Context, s store.Store) error { _, err := s.CreatePromise(ctx, promise); return err }, nil},
		{"update promise", func(ctx context.Context, s store.Store) error { _, err := s.UpdatePromise(ctx, promise, 0); return err }, []kubemirror.Ref{prom}},
		{"update promise at a stale version", func(ctx context.Context, s store.Store) error {
			_, err := s.UpdatePromise(ctx, promise, 1)
			return err
		}, nil},
		{"promise status", func(ctx context.Context, s store.Store) error {
			_, err := s.SetPromiseStatus(ctx, "p", 0, api.PromiseStatus{})
			return err
		}, []kubemirror.Ref{prom}},
		{"create request", func(ctx context.Context, s store.Store) error {
			_, err := s.CreateResourceRequest(ctx, "p", request)
			return err
		}, []kubemirror.Ref{req}},
		{"request of no promise", func(ctx context.Context, s store.Store) error {
			_, err := s.CreateResourceRequest(ctx, "none", request)
			return err
		}, nil},
		{"update request", func(ctx context.Context, s store.Store) error {
			_, err := s.UpdateResourceRequest(ctx, "p", request, 0)
			return err
		}, []kubemirror.Ref{req}},
		{"request status", func(ctx context.Context, s store.Store) error {
			_, err := s.SetResourceRequestStatus(ctx, "p", "team", "r", 0, json.RawMessage(`{"a":1}`))
			return err
		}, []kubemirror.Ref{req}},
		{"dry run", func(ctx context.Context, s store.Store) error {
			dr, ok := s.(store.DryRunner)
			if !ok {
				return errors.New("not a DryRunner")
			}
			return dr.DryRun(ctx, func(v store.Store) error { return v.DeleteResourceRequest(ctx, "p", "team", "r") })
		}, nil},
		{"delete request", func(ctx context.Context, s store.Store) error { return s.DeleteResourceRequest(ctx, "p", "team", "r") }, []kubemirror.Ref{req, prom}},
		{"delete absent request", func(ctx context.Context, s store.Store) error { return s.DeleteResourceRequest(ctx, "p", "team", "r") }, nil},
		{"delete promise", func(ctx context.Context, s store.Store) error { return s.DeletePromise(ctx, "p") }, []kubemirror.Ref{prom}},
		{"create state store", func(ctx context.Context, s store.Store) error { return s.CreateStateStore(ctx, dirStore) }, stores},
		{"update state store", func(ctx context.Context, s store.Store) error { return s.UpdateStateStore(ctx, dirStore) }, stores},
		{"create destination", func(ctx context.Context, s store.Store) error { return s.CreateDestination(ctx, dest) }, []kubemirror.Ref{destRef}},
		{"update destination", func(ctx context.Context, s store.Store) error { return s.UpdateDestination(ctx, dest) }, []kubemirror.Ref{destRef}},
		{"delete destination", func(ctx context.Context, s store.Store) error { return s.DeleteDestination(ctx, "d") }, []kubemirror.Ref{destRef}},
		{"delete state store", func(ctx context.Context, s store.Store) error { return s.DeleteStateStore(ctx, "s") }, stores},
		{"delete absent state store", func(ctx context.Context, s store.Store) error { return s.DeleteStateStore(ctx, "s") }, nil},
		{"create definition", func(ctx context.Context, s store.Store) error {
			_, err := s.CreateCompositionDefinition(ctx, definition)
			return err
		}, []kubemirror.Ref{defRef}},
		{"create definition taken", func(ctx context.Context, s store.Store) error {
			_, err := s.CreateCompositionDefinition(ctx, definition)
			return err
		}, nil},
		{"update definition", func(ctx context.Context, s store.Store) error {
			_, err := s.UpdateCompositionDefinition(ctx, definition, 0)
			return err
		}, []kubemirror.Ref{defRef}},
		{"definition status", func(ctx context.Context, s store.Store) error {
			_, err := s.SetCompositionDefinitionStatus(ctx, "krateo-system", "fw", 0, api.CompositionDefinitionStatus{Resource: "fireworksapps"}, nil)
			return err
		}, []kubemirror.Ref{defRef}},
		{"create composition", func(ctx context.Context, s store.Store) error {
			_, err := s.CreateComposition(ctx, "fireworksapps", composition)
			return err
		}, []kubemirror.Ref{compRef}},
		{"update composition", func(ctx context.Context, s store.Store) error {
			_, err := s.UpdateComposition(ctx, "fireworksapps", composition, 0)
			return err
		}, []kubemirror.Ref{compRef}},
		{"composition status", func(ctx context.Context, s store.Store) error {
			_, err := s.SetCompositionStatus(ctx, "fireworksapps", "demo", "c", 0, json.RawMessage(`{"a":1}`))
			return err
		}, []kubemirror.Ref{compRef}},
		{"composition status at a stale version", func(ctx context.Context, s store.Store) error {
			_, err := s.SetCompositionStatus(ctx, "fireworksapps", "demo", "c", 1, json.RawMessage(`{"a":2}`))
			return err
		}, nil},
		// The definition generating its type too: a delete of it refused while the type had compositions may pass.
		{"delete composition", func(ctx context.Context, s store.Store) error {
			return s.DeleteComposition(ctx, "fireworksapps", "demo", "c")
		}, []kubemirror.Ref{compRef, defRef}},
		{"delete absent composition", func(ctx context.Context, s store.Store) error {
			return s.DeleteComposition(ctx, "fireworksapps", "demo", "c")
		}, nil},
		{"delete definition", func(ctx context.Context, s store.Store) error {
			return s.DeleteCompositionDefinition(ctx, "krateo-system", "fw")
		}, []kubemirror.Ref{defRef}},
	}
	for _, tt := range tests { // in order: each case writes over what the ones before left
		t.Run(tt.name, func(t *testing.T) {
			told = nil
			err := tt.write(ctx, st)
			if diff := cmp.Diff(tt.want, told); diff != "" {
				t.Errorf("told (-want +got) (write: %v):\n%s", err, diff)
			}
			if (err == nil) != (tt.want != nil || tt.name == "dry run") {
				t.Errorf("write: %v", err)
			}
		})
	}
}
