package storetest

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

func gitStateStore(name string) api.StateStore {
	return api.StateStore{Kind: api.KindGitStateStore, Name: name, URL: "https://git.example.com/state.git",
		Branch: "main", AuthMethod: api.AuthBasic, Path: "platform", GitAuthor: api.GitAuthor{Name: "kratix", Email: "k@example.com"},
		SecretRef:   &api.SecretReference{Name: "git-creds", Namespace: "default"},
		Credentials: &api.GitCredentials{Username: "bot", Password: "hunter2-" + name}}
}

func dirStateStore(name string) api.StateStore {
	return api.StateStore{Kind: api.KindDirectoryStateStore, Name: name, Path: "/srv/state/" + name}
}

func dest(name, storeKind, storeName string) api.Destination {
	return api.Destination{Name: name, Labels: map[string]string{"env": name}, Path: name,
		StateStoreRef: api.StateStoreRef{Kind: storeKind, Name: storeName}, StrictMatchLabels: true,
		Filepath: api.DestinationFilepath{Mode: api.FilepathAggregatedYAML, Filename: "all.yaml"}, Cleanup: api.CleanupAll}
}

func testStateStoreRoundTrip(t *testing.T, s store.Store) {
	ctx := t.Context()
	tests := []struct {
		name string
		in   api.StateStore
	}{
		{"git with credentials", gitStateStore("git")},
		{"git without credentials", func() api.StateStore { g := gitStateStore("plain"); g.Credentials = nil; return g }()},
		{"directory", dirStateStore("local")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			must(t, "CreateStateStore", s.CreateStateStore(ctx, tt.in))
			got, err := s.GetStateStore(ctx, tt.in.Name)
			must(t, "GetStateStore", err)
			if diff := cmp.Diff(tt.in, got, opts); diff != "" {
				t.Errorf("GetStateStore (-want +got):\n%s", diff)
			}
		})
	}
	checkErr(t, "CreateStateStore twice", s.CreateStateStore(ctx, dirStateStore("git")), store.ErrConflict,
		`state store "git" already exists`)
	_, err := s.GetStateStore(ctx, "missing")
	checkErr(t, "GetStateStore missing", err, store.ErrNotFound, `state store "missing" not found`)
	list, err := s.ListStateStores(ctx)
	must(t, "ListStateStores", err)
	var names []string
	for _, x := range list {
		names = append(names, x.Name)
	}
	if diff := cmp.Diff([]string{"git", "local", "plain"}, names); diff != "" {
		t.Errorf("ListStateStores names (-want +got):\n%s", diff)
	}
	if list[0].Credentials == nil || list[0].Credentials.Password != "hunter2-git" {
		t.Errorf("ListStateStores()[0].Credentials = %+v, want them opened", list[0].Credentials)
	}
	upd := gitStateStore("git")
	upd.Branch, upd.Credentials = "dev", &api.GitCredentials{Token: "tok"}
	must(t, "UpdateStateStore", s.UpdateStateStore(ctx, upd))
	got, err := s.GetStateStore(ctx, "git")
	must(t, "GetStateStore", err)
	if diff := cmp.Diff(upd, got, opts); diff != "" {
		t.Errorf("after UpdateStateStore (-want +got):\n%s", diff)
	}
	upd.Credentials = nil
	must(t, "UpdateStateStore without credentials", s.UpdateStateStore(ctx, upd))
	if got, _ := s.GetStateStore(ctx, "git"); got.Credentials != nil {
		t.Errorf("credentials after an update without them = %+v, want none", got.Credentials)
	}
	checkErr(t, "UpdateStateStore missing", s.UpdateStateStore(ctx, dirStateStore("missing")), store.ErrNotFound, "")
	checkErr(t, "DeleteStateStore missing", s.DeleteStateStore(ctx, "missing"), store.ErrNotFound, "")
	must(t, "DeleteStateStore", s.DeleteStateStore(ctx, "plain"))
	_, err = s.GetStateStore(ctx, "plain")
	checkErr(t, "GetStateStore deleted", err, store.ErrNotFound, "")
}

func testDestinationRoundTrip(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, "CreateStateStore", s.CreateStateStore(ctx, gitStateStore("git")))
	must(t, "CreateStateStore", s.CreateStateStore(ctx, dirStateStore("local")))
	d := dest("dev", api.KindGitStateStore, "git")
	must(t, "CreateDestination", s.CreateDestination(ctx, d))
	got, err := s.GetDestination(ctx, "dev")
	must(t, "GetDestination", err)
	if diff := cmp.Diff(d, got, opts); diff != "" {
		t.Errorf("GetDestination (-want +got):\n%s", diff)
	}
	checkErr(t, "CreateDestination twice", s.CreateDestination(ctx, d), store.ErrConflict, `destination "dev" already exists`)
	checkErr(t, "CreateDestination without store", s.CreateDestination(ctx, dest("x", api.KindGitStateStore, "none")),
		store.ErrInvalid, `stateStoreRef: state store "none" not found`)
	checkErr(t, "CreateDestination wrong kind", s.CreateDestination(ctx, dest("x", api.KindGitStateStore, "local")),
		store.ErrInvalid, `stateStoreRef: state store "local" is a DirectoryStateStore, not a GitStateStore`)
	if _, err := s.GetDestination(ctx, "x"); err == nil {
		t.Error("a refused destination was stored")
	}
	must(t, "CreateDestination", s.CreateDestination(ctx, dest("prod", api.KindGitStateStore, "git")))
	list, err := s.ListDestinations(ctx)
	must(t, "ListDestinations", err)
	if len(list) != 2 || list[0].Name != "dev" || list[1].Name != "prod" {
		t.Errorf("ListDestinations = %+v, want dev, prod", list)
	}
	// A store in use cannot go, nor change its kind under its destinations.
	checkErr(t, "DeleteStateStore in use", s.DeleteStateStore(ctx, "git"), store.ErrConflict,
		`state store "git" is used by 2 destinations`)
	if _, err := s.GetStateStore(ctx, "git"); err != nil {
		t.Errorf("a store in use was deleted: %v", err)
	}
	asDir := dirStateStore("git")
	checkErr(t, "UpdateStateStore kind in use", s.UpdateStateStore(ctx, asDir), store.ErrInvalid, "")
	moved := dest("dev", api.KindDirectoryStateStore, "local")
	must(t, "UpdateDestination", s.UpdateDestination(ctx, moved))
	checkErr(t, "UpdateDestination without store", s.UpdateDestination(ctx, dest("dev", api.KindGitStateStore, "none")),
		store.ErrInvalid, "")
	checkErr(t, "UpdateDestination missing", s.UpdateDestination(ctx, dest("missing", api.KindGitStateStore, "git")),
		store.ErrNotFound, `destination "missing" not found`)
	checkErr(t, "DeleteStateStore in use once", s.DeleteStateStore(ctx, "git"), store.ErrConflict,
		`state store "git" is used by 1 destination`)
	must(t, "DeleteDestination", s.DeleteDestination(ctx, "prod"))
	checkErr(t, "DeleteDestination twice", s.DeleteDestination(ctx, "prod"), store.ErrNotFound, "")
	must(t, "DeleteStateStore now unused", s.DeleteStateStore(ctx, "git"))
}
