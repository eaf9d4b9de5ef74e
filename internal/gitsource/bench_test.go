package gitsource

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/gitsource/gittest"
)

func benchCheckout(b *testing.B, opts Options, repo executor.Repo) {
	benchCheckoutWith(b, opts, repo, CheckoutOptions{})
}

func benchCheckoutWith(b *testing.B, opts Options, repo executor.Repo, co CheckoutOptions) {
	opts.Logger = slog.New(slog.DiscardHandler)
	c := newCache(b, opts)
	root := b.TempDir()
	if _, err := c.Checkout(b.Context(), repo, filepath.Join(root, "warm")); err != nil {
		b.Fatal(err)
	}
	var i atomic.Int64
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			if _, err := c.CheckoutWith(b.Context(), repo, filepath.Join(root, strconv.FormatInt(i.Add(1), 10)), co); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := c.CheckoutWith(b.Context(), repo, filepath.Join(root, strconv.FormatInt(i.Add(1), 10)), co); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

func benchRepo(b *testing.B) string {
	return gittest.NewRepo(b, map[string]string{"run.sh": "#!/bin/sh\ntrue\n", "README": "x"})
}

// BenchmarkCheckoutCached: within the TTL, no freshness check at all.
func BenchmarkCheckoutCached(b *testing.B) {
	benchCheckout(b, Options{TTL: time.Hour}, executor.Repo{URL: gittest.URL(benchRepo(b))})
}

// BenchmarkCheckoutCachedChown: BenchmarkCheckoutCached, the files given to another user (root only).
func BenchmarkCheckoutCachedChown(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root")
	}
	benchCheckoutWith(b, Options{TTL: time.Hour}, executor.Repo{URL: gittest.URL(benchRepo(b))}, CheckoutOptions{Chown: true, UID: 4245, GID: 4245})
}

// BenchmarkCheckoutFresh: TTL 0, the branch does not move; every checkout checks the branch head.
func BenchmarkCheckoutFresh(b *testing.B) {
	b.Run("file", func(b *testing.B) {
		benchCheckout(b, Options{}, executor.Repo{URL: gittest.URL(benchRepo(b))})
	})
	b.Run("http", func(b *testing.B) {
		url := gittest.ServeHTTP(b, benchRepo(b), TokenUser, testToken)
		benchCheckout(b, Options{}, executor.Repo{URL: url, Token: testToken})
	})
}

// BenchmarkProbe: the freshness check alone.
func BenchmarkProbe(b *testing.B) {
	probe := func(b *testing.B, repo executor.Repo) {
		c := newCache(b, Options{Logger: slog.New(slog.DiscardHandler)})
		for b.Loop() {
			if _, err := c.probe(b.Context(), repo, "main"); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("file", func(b *testing.B) {
		probe(b, executor.Repo{URL: gittest.URL(benchRepo(b))})
	})
	b.Run("http", func(b *testing.B) {
		probe(b, executor.Repo{URL: gittest.ServeHTTP(b, benchRepo(b), TokenUser, testToken), Token: testToken})
	})
	// The advertisement git http-backend gives, served without spawning it per request: the client's share.
	b.Run("http-static", func(b *testing.B) {
		resp, err := http.Get(gittest.ServeHTTP(b, benchRepo(b), "", "") + "/info/refs?service=git-upload-pack")
		if err != nil {
			b.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("advertisement: %d, %v", resp.StatusCode, err)
		}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", advertisementCT)
			w.Write(body)
		}))
		b.Cleanup(srv.Close)
		probe(b, executor.Repo{URL: srv.URL + "/repo.git"})
	})
}

// BenchmarkExtract: one commit's tree of 200 files extracted raw (ls-tree + cat-file --batch + writes), beside
// `git archive` of it into io.Discard, a lower bound of what the extraction by git archive cost before.
func BenchmarkExtract(b *testing.B) {
	files := map[string]string{}
	for i := range 200 {
		files["d"+strconv.Itoa(i%10)+"/f"+strconv.Itoa(i)+".txt"] = strings.Repeat("line "+strconv.Itoa(i)+"\n", 50)
	}
	bare := gittest.NewRepo(b, files)
	c := newCache(b, Options{Logger: slog.New(slog.DiscardHandler)})
	repo := executor.Repo{URL: gittest.URL(bare)}
	commit, err := c.Checkout(b.Context(), repo, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	m := c.mirror(repo.URL)
	b.Run("raw", func(b *testing.B) {
		for b.Loop() {
			t, err := c.extractRaw(b.Context(), m, commit)
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			os.RemoveAll(t.dir)
			b.StartTimer()
		}
	})
	b.Run("git-archive-to-discard", func(b *testing.B) {
		for b.Loop() {
			cmd := buildGit(c.home, "", "archive", "--format=tar", commit).command(b.Context(), m.dir)
			cmd.Stdout = io.Discard
			if err := cmd.Run(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
