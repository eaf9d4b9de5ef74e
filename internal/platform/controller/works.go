package controller

import (
	"context"
	"errors"
	"time"

	"github.com/runplane/runplane/internal/platform/kratix"
)

// Kratix's condition of a request whose output (its Works) could not all be written, and its reasons.
const (
	condWorksSucceeded   = "WorksSucceeded"
	reasonWorksFailing   = "WorksFailing"
	reasonWorksSucceeded = "WorksSucceeded"
)

// storeError is a state store that could not be written: its secret (missing, or without the key), its remote
// (refusing the credentials, unreachable). The write is retried until it succeeds. Its text names the store, the
// secret and the key, never a value (git's errors are scrubbed of credentials by package statestore).
type storeError struct{ err error }

func (e *storeError) Error() string { return e.err.Error() }
func (e *storeError) Unwrap() error { return e.err }

// worksFailing returns err, the failure to write a pipeline's output, after showing it in o's status when a state
// store could not be written (Kratix's WorksSucceeded False, reason WorksFailing): the write is retried, and the
// user must learn what to mend (a Secret's key, the password the remote refused).
func (c *Controller) worksFailing(ctx context.Context, o *object, err error, now time.Time) error {
	var se *storeError
	if !errors.As(err, &se) {
		return err
	}
	msg := "Some works associated with this resource failed: " + err.Error()
	if have, ok := kratix.FindCondition(o.status, condWorksSucceeded); ok && have.Status == "False" && have.Message == msg {
		return err // shown already: saving again would only wake this object's watchers
	}
	st := kratix.SetCondition(o.status, kratix.Condition{Type: condWorksSucceeded, Status: "False", Reason: reasonWorksFailing,
		Message: msg}, now)
	if serr := c.save(ctx, o, st); serr != nil {
		return errors.Join(err, serr)
	}
	return err
}

// worksWritten turns a WorksSucceeded condition worksFailing set True once the output is written (a request whose
// writes never failed gets none, as before).
func worksWritten(st map[string]any, now time.Time) map[string]any {
	if have, ok := kratix.FindCondition(st, condWorksSucceeded); !ok || have.Status == "True" {
		return st
	}
	return kratix.SetCondition(st, kratix.Condition{Type: condWorksSucceeded, Status: "True", Reason: reasonWorksSucceeded,
		Message: "All works associated with this resource are ready"}, now)
}
