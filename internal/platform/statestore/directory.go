package statestore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/runplane/runplane/api"
)

// directoryWriter writes into a DirectoryStateStore's directory.
type directoryWriter struct {
	name string
	dir  string
	mu   *sync.Mutex // shared by every writer of dir
}

var _ Writer = (*directoryWriter)(nil)

func (w *directoryWriter) Write(ctx context.Context, ps ...Placement) (Result, error) {
	return w.change(ctx, ps, false)
}

func (w *directoryWriter) Delete(ctx context.Context, ps ...Placement) (Result, error) {
	return w.change(ctx, ps, true)
}

func (w *directoryWriter) change(ctx context.Context, ps []Placement, del bool) (Result, error) {
	res := Result{Store: w.name, Placements: []Written{}}
	for _, p := range ps {
		if err := checkStore(p, api.KindDirectoryStateStore, w.name); err != nil {
			return res, err
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := os.MkdirAll(w.dir, 0o755); err != nil {
		return res, fmt.Errorf("state store %s: %w", w.name, err)
	}
	t, err := openTree(w.dir, true)
	if err != nil {
		return res, fmt.Errorf("state store %s: %w", w.name, err)
	}
	defer t.Close()
	for _, p := range ps {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		e, written, err := plan(t, "", p, del)
		if err != nil {
			return res, fmt.Errorf("state store %s: %w", w.name, err)
		}
		if err := t.apply(e); err != nil {
			return res, fmt.Errorf("state store %s: %w", w.name, err)
		}
		res.Placements = append(res.Placements, written)
	}
	return res, nil
}

// checkStore refuses a placement whose destination names another store.
func checkStore(p Placement, kind, name string) error {
	ref := p.Destination.StateStoreRef
	if ref.Name != name || (ref.Kind != "" && ref.Kind != kind) {
		return invalidf("destination %s writes to %s %s, not to %s %s", p.Destination.Name, ref.Kind, ref.Name, kind, name)
	}
	return nil
}

// dirKey is how directory stores are told apart: two stores naming one directory share its lock.
func dirKey(dir string) string {
	if abs, err := filepath.Abs(dir); err == nil {
		return filepath.Clean(abs)
	}
	return filepath.Clean(dir)
}
