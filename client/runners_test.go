package client_test

import (
	"errors"
	"github.com/runplane/runplane/internal/server/servertest"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
	"github.com/runplane/runplane/internal/gitsource/gittest"
)

func TestRunners(t *testing.T) {
	url := servertest.Start(t)
	c := newClient(t, url)
	ctx := t.Context()
	gitURL := gittest.URL(gittest.NewRepo(t, scripts))

	in := api.Runner{Name: "r1", Image: "alpine:3", GitURL: gitURL, Branch: "main", Token: "s3cret",
		Secret: map[string]string{"API_KEY": "k1", "OTHER": "o1"}}
	masked := in.Masked()

	got, err := c.CreateRunner(ctx, in)
	if err != nil {
		t.Fatalf("CreateRunner: %v", err)
	}
	if diff := cmp.Diff(masked, got); diff != "" {
		t.Errorf("CreateRunner answer (-want +got):\n%s", diff)
	}
	got, err = c.GetRunner(ctx, "r1")
	if err != nil {
		t.Fatalf("GetRunner: %v", err)
	}
	if diff := cmp.Diff(masked, got); diff != "" {
		t.Errorf("GetRunner (-want +got):\n%s", diff)
	}
	list, err := c.ListRunners(ctx)
	if err != nil {
		t.Fatalf("ListRunners: %v", err)
	}
	if diff := cmp.Diff([]api.Runner{masked}, list); diff != "" {
		t.Errorf("ListRunners (-want +got):\n%s", diff)
	}

	_, err = c.CreateRunner(ctx, in)
	checkStatus(t, "CreateRunner duplicate", err, 409)
	if !errors.Is(err, client.ErrConflict) {
		t.Errorf("duplicate CreateRunner error %v is not ErrConflict", err)
	}

	// PUT with the mask keeps the token; a changed image is stored; "" deletes a secret.
	upd := api.Runner{Name: "r1", Image: "alpine:4", GitURL: gitURL, Token: api.Mask,
		Secret: map[string]string{"API_KEY": api.Mask, "OTHER": ""}}
	got, err = c.UpdateRunner(ctx, upd)
	if err != nil {
		t.Fatalf("UpdateRunner: %v", err)
	}
	want := api.Runner{Name: "r1", Image: "alpine:4", GitURL: gitURL, Branch: "main", Token: api.Mask,
		Secret: map[string]string{"API_KEY": api.Mask}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("UpdateRunner answer (-want +got):\n%s", diff)
	}

	got, err = c.PatchRunner(ctx, "r1", map[string]any{"image": "busybox"})
	if err != nil {
		t.Fatalf("PatchRunner: %v", err)
	}
	want.Image = "busybox"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("PatchRunner answer (-want +got):\n%s", diff)
	}

	secretSteps := []struct {
		name string
		call func() (map[string]string, error)
		want map[string]string
	}{
		{"PUT keeps masked, adds new, drops unnamed", func() (map[string]string, error) {
			return c.SetRunnerSecret(ctx, "r1", map[string]string{"API_KEY": api.Mask, "NEW": "n"})
		}, map[string]string{"API_KEY": api.Mask, "NEW": api.Mask}},
		{"POST merges, empty deletes", func() (map[string]string, error) {
			return c.MergeRunnerSecret(ctx, "r1", map[string]string{"THIRD": "3", "NEW": ""})
		}, map[string]string{"API_KEY": api.Mask, "THIRD": api.Mask}},
		{"GET", func() (map[string]string, error) { return c.GetRunnerSecret(ctx, "r1") },
			map[string]string{"API_KEY": api.Mask, "THIRD": api.Mask}},
		{"DELETE some keys", func() (map[string]string, error) {
			if err := c.DeleteRunnerSecret(ctx, "r1", "THIRD"); err != nil {
				return nil, err
			}
			return c.GetRunnerSecret(ctx, "r1")
		}, map[string]string{"API_KEY": api.Mask}},
		{"DELETE all", func() (map[string]string, error) {
			if err := c.DeleteRunnerSecret(ctx, "r1"); err != nil {
				return nil, err
			}
			return c.GetRunnerSecret(ctx, "r1")
		}, map[string]string{}},
	}
	for _, s := range secretSteps {
		got, err := s.call()
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if diff := cmp.Diff(s.want, got); diff != "" {
			t.Errorf("%s: secret (-want +got):\n%s", s.name, diff)
		}
	}

	if err := c.DeleteRunner(ctx, "r1"); err != nil {
		t.Fatalf("DeleteRunner: %v", err)
	}
	_, err = c.GetRunner(ctx, "r1")
	checkStatus(t, "GetRunner after delete", err, 404)
	if !errors.Is(err, client.ErrNotFound) {
		t.Errorf("GetRunner after delete: %v is not ErrNotFound", err)
	}
	if list, err := c.ListRunners(ctx); err != nil || list == nil || len(list) != 0 {
		t.Errorf("ListRunners after delete = %#v, %v; want empty, non-nil", list, err)
	}
}

func TestRunnerErrors(t *testing.T) {
	f := setup(t)
	ctx := t.Context()
	tests := []struct {
		name string
		call func() error
		want int
	}{
		{"create invalid name", func() error {
			_, err := f.c.CreateRunner(ctx, api.Runner{Name: "Bad Name", GitURL: f.gitURL})
			return err
		}, 400},
		{"create without gitURL", func() error {
			_, err := f.c.CreateRunner(ctx, api.Runner{Name: "nogit"})
			return err
		}, 400},
		{"update missing", func() error {
			_, err := f.c.UpdateRunner(ctx, api.Runner{Name: "missing", GitURL: f.gitURL})
			return err
		}, 404},
		{"patch missing", func() error {
			_, err := f.c.PatchRunner(ctx, "missing", map[string]any{"image": "x"})
			return err
		}, 404},
		{"get missing", func() error { _, err := f.c.GetRunner(ctx, "missing"); return err }, 404},
		{"delete missing", func() error { return f.c.DeleteRunner(ctx, "missing") }, 404},
		{"delete in use", func() error { return f.c.DeleteRunner(ctx, "scripts") }, 409},
		{"secret of missing", func() error { _, err := f.c.GetRunnerSecret(ctx, "missing"); return err }, 404},
		{"bad secret key", func() error {
			_, err := f.c.SetRunnerSecret(ctx, "scripts", map[string]string{"PATH": "x"})
			return err
		}, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkStatus(t, tt.name, tt.call(), tt.want)
		})
	}
}
