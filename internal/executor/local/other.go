//go:build !linux

package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/runplane/runplane/internal/executor"
)

// errUnsupported: jobs need Linux (namespaces, Pdeathsig, /proc); elsewhere the package only compiles.
var errUnsupported = errors.New("local executor: only Linux is supported")

// Executor is a stub outside Linux: New always fails.
type Executor struct{}

var _ executor.Executor = (*Executor)(nil)

// New fails outside Linux.
func New(Options) (*Executor, error) { return nil, errUnsupported }

// Isolation reports IsolationNone.
func (e *Executor) Isolation() string { return IsolationNone }

// Start fails outside Linux.
func (e *Executor) Start(context.Context, executor.Spec) (executor.Handle, error) {
	return "", errUnsupported
}

// Wait knows no attempt outside Linux.
func (e *Executor) Wait(context.Context, executor.Handle) (executor.Result, error) {
	return executor.Result{}, executor.ErrNotFound
}

// Close has nothing to release outside Linux.
func (e *Executor) Close() error { return nil }

// Stop has nothing to stop outside Linux.
func (e *Executor) Stop(context.Context, executor.Handle, time.Duration) error { return nil }

// Recover knows no attempt outside Linux.
func (e *Executor) Recover(context.Context, executor.Handle, io.Writer) error {
	return executor.ErrNotFound
}

// RunLauncher fails outside Linux.
func RunLauncher() int {
	fmt.Fprintln(os.Stderr, errUnsupported)
	return 127
}
