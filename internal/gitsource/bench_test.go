package gitsource

import (
	"log/slog"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/gitsource/gittest"
)

func benchCheckout(b *testing.B, opts Options, repo executor.Repo) {
	opts.Logger = slog.New(slog.DiscardHandler)
	c := newCache(b, opts)
	root := b.TempDir()
	if _, err := c.Checkout(b.Context(), repo, filepath.Join(root, "warm")); err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		i++
		if _, err := c.Checkout(b.Context(), repo, filepath.Join(root, strconv.Itoa(i))); err != nil {
			b.Fatal(err)
		}
	}
}

func benchRepo(b *testing.B) string {
	return gittest.NewRepo(b, map[string]string{"run.sh": "#!/bin/sh\ntrue\n", "README": "x"})
}

// BenchmarkCheckoutCached: within the TTL, no freshness check at all.
func BenchmarkCheckoutCached(b *testing.B) {
	benchCheckout(b, Options{TTL: time.Hour}, executor.Repo{URL: gittest.URL(benchRepo(b))})
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
