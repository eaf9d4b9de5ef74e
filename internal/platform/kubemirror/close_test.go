package kubemirror

import (
	"context"
	"net/http"
	"testing"
	"testing/synctest"

	"k8s.io/client-go/rest"
)

// TestCloseWithoutRun: a Mirror made and never run leaves no goroutine once closed (its work queue's): synctest
// fails a bubble whose goroutines outlive it.
func TestCloseWithoutRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, err := New(Options{Config: &rest.Config{Host: "https://127.0.0.1:1"}, API: http.NotFoundHandler(),
			Token: func(context.Context) (string, error) { return "", nil }, Store: struct{ Store }{}})
		if err != nil {
			t.Fatal(err)
		}
		m.Changed(Ref{Kind: KindComposition, Promise: "fireworksapps", Namespace: "demo", Name: "fw"})
		m.Close()
		m.Close()
	})
}
