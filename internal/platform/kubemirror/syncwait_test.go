package kubemirror

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runplane/runplane/internal/kubetest/apiserver"
)

// syncBuffer is a bytes.Buffer safe for the logger's and the test's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}
func (b *syncBuffer) String() string { b.mu.Lock(); defer b.mu.Unlock(); return b.b.String() }

// TestRunSaysWhenACRDIsMissing: on a cluster without runplane's CRDs (a chart upgraded with `helm upgrade`, which
// leaves crds/ as they were) the mirror cannot sync its watches; it says so, naming the CRD, instead of waiting
// in silence, and returns when its context ends.
func TestRunSaysWhenACRDIsMissing(t *testing.T) {
	kube := apiserver.Start(t)
	defer func(d time.Duration) { syncWarnAfter = d }(syncWarnAfter)
	syncWarnAfter = 200 * time.Millisecond
	var logs syncBuffer
	m, err := New(Options{Config: kube.Config, API: http.NotFoundHandler(),
		Token: func(context.Context) (string, error) { return "", nil }, Store: struct{ Store }{},
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(logs.String(), "crd=directorystatestores.platform.runplane.dev") {
		if time.Now().After(deadline) {
			t.Fatalf("no warning naming the missing CRD in a minute; the log:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), "--install-crds") {
		t.Errorf("the warning does not say what to do:\n%s", logs.String())
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v after its context ended, want nil", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}
