package statestore

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
)

// BenchmarkGitStateStore100 writes 100 requests' files at once (100 concurrent Write calls, as 100 pipelines
// finishing together) to one git store, and reports throughput beside two baselines measured in the same run:
// the same 100 concurrent writes to a directory store, and the 100 placements in ONE Write (one commit). Every
// iteration checks that no write failed and none was lost.
//
//	go test ./internal/platform/statestore -run '^$' -bench GitStateStore100 -benchtime 3x
func BenchmarkGitStateStore100(b *testing.B) {
	const n = 100
	placements := func(kind, store string, iter int) []Placement {
		ps := make([]Placement, n)
		for i := range ps {
			ps[i] = Placement{Destination: destination("dev", kind, store, "", ""), Promise: "redis",
				Resource: fmt.Sprintf("r%03d", i), Namespace: "default", Pipeline: "instance-configure", GroupID: rootGroup,
				Files: files("redis.yaml", fmt.Sprintf("name: r%03d\niteration: %d\n", i, iter),
					"service.yaml", fmt.Sprintf("kind: Service\nname: r%03d\n", i))}
		}
		return ps
	}
	concurrent := func(b *testing.B, w Writer, ps []Placement) {
		var wg sync.WaitGroup
		errs := make([]error, len(ps))
		for i, p := range ps {
			wg.Go(func() { _, errs[i] = w.Write(b.Context(), p) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				b.Fatalf("write %d: %v", i, err)
			}
		}
	}
	report := func(b *testing.B, start time.Time) {
		b.ReportMetric(float64(n*b.N)/time.Since(start).Seconds(), "writes/s")
	}
	b.Run("git-concurrent", func(b *testing.B) {
		bare := emptyBare(b)
		ws, _ := New(Options{Dir: b.TempDir()})
		w, _ := ws.For(gitStore("git", "file://"+bare))
		start := time.Now()
		for i := 0; b.Loop(); i++ {
			concurrent(b, w, placements(api.KindGitStateStore, "git", i))
		}
		report(b, start)
		if got := repoFiles(b, bare, "main"); len(got) != 2*n {
			b.Fatalf("repository holds %d files, want %d", len(got), 2*n)
		}
		b.ReportMetric(float64(countCommits(b, bare))/float64(b.N), "commits/op")
	})
	b.Run("baseline-directory-concurrent", func(b *testing.B) {
		dir := filepath.Join(b.TempDir(), "state")
		w := dirWriter(b, dir)
		start := time.Now()
		for i := 0; b.Loop(); i++ {
			concurrent(b, w, placements(api.KindDirectoryStateStore, "local", i))
		}
		report(b, start)
		if got := dirFiles(b, dir); len(got) != 2*n {
			b.Fatalf("directory holds %d files, want %d", len(got), 2*n)
		}
	})
	b.Run("baseline-git-one-commit", func(b *testing.B) {
		bare := emptyBare(b)
		ws, _ := New(Options{Dir: b.TempDir()})
		w, _ := ws.For(gitStore("git", "file://"+bare))
		start := time.Now()
		for i := 0; b.Loop(); i++ {
			if _, err := w.Write(b.Context(), placements(api.KindGitStateStore, "git", i)...); err != nil {
				b.Fatal(err)
			}
		}
		report(b, start)
	})
}

func countCommits(tb testing.TB, bare string) int {
	out := gitCmd(tb, bare, "rev-list", "--count", "main")
	var c int
	fmt.Sscan(out, &c)
	return c
}

// BenchmarkGitWrite is one request's files written to a git store and pushed, one write at a time (the latency a
// request's status waits for), beside the same write to a directory store in the same run.
//
//	go test ./internal/platform/statestore -run '^$' -bench GitWrite -benchtime 50x
func BenchmarkGitWrite(b *testing.B) {
	p := func(kind, store string, i int) Placement {
		return Placement{Destination: destination("dev", kind, store, "", ""), Promise: "redis",
			Resource: fmt.Sprintf("r%03d", i), Namespace: "default", Pipeline: "instance-configure", GroupID: rootGroup,
			Files: files("redis.yaml", fmt.Sprintf("name: r%03d\n", i))}
	}
	bare := emptyBare(b)
	ws, _ := New(Options{Dir: b.TempDir()})
	gw, _ := ws.For(gitStore("git", "file://"+bare))
	dw := dirWriter(b, filepath.Join(b.TempDir(), "state"))
	var git, dir time.Duration
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		if _, err := gw.Write(b.Context(), p(api.KindGitStateStore, "git", i)); err != nil {
			b.Fatal(err)
		}
		git += time.Since(start)
		start = time.Now()
		if _, err := dw.Write(b.Context(), p(api.KindDirectoryStateStore, "local", i)); err != nil {
			b.Fatal(err)
		}
		dir += time.Since(start)
	}
	b.ReportMetric(float64(git.Microseconds())/1000/float64(b.N), "git-ms")
	b.ReportMetric(float64(dir.Microseconds())/1000/float64(b.N), "directory-ms")
}
