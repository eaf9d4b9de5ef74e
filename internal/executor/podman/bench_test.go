package podman_test

import (
	"context"
	"os/exec"
	"testing"

	"github.com/runplane/runplane/internal/executor/podman"
	"github.com/runplane/runplane/internal/executor/podman/podmantest"
)

// BenchmarkRunTrue measures one job of `true` from Start to the end of Wait, beside a bare `podman run --rm` of
// the same image (the floor: what podman itself costs) in the same run:
//
//	go test -run '^$' -bench RunTrue -benchtime 10x ./internal/executor/podman/
func BenchmarkRunTrue(b *testing.B) {
	image := podmantest.BuildImage(b)
	ex := newExecutor(b, nil)
	repo := repo(b, map[string]string{"hello.txt": "hi\n"})
	b.Run("podman-run-rm", func(b *testing.B) {
		args := append(append([]string(nil), podmantest.Global...), "run", "--rm", "--network", "none")
		for _, u := range podman.DefaultUlimits {
			args = append(args, "--ulimit", u)
		}
		args = append(args, image, "true")
		for b.Loop() {
			if out, err := exec.Command("podman", args...).CombinedOutput(); err != nil {
				b.Fatalf("podman run: %v: %s", err, out)
			}
		}
	})
	for _, tc := range []struct {
		name     string
		checkout bool
		cleanup  bool // time the removal of the container and the workspace too (else it runs between jobs)
	}{
		{"executor", false, false},
		{"executor-checkout", true, false},
		{"executor-checkout-cleanup", true, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			s, _ := spec(b, "true")
			if tc.checkout {
				s.Repo = repo
			}
			for b.Loop() {
				h, err := ex.Start(context.Background(), s)
				if err != nil {
					b.Fatal(err)
				}
				if r, err := ex.Wait(context.Background(), h); err != nil || r.ExitCode != 0 {
					b.Fatalf("Wait = %+v, %v", r, err)
				}
				if !tc.cleanup {
					b.StopTimer()
				}
				_ = ex.Close()
				b.StartTimer()
			}
		})
	}
}
