package httpapi

import (
	"errors"
	"net/http"

	"github.com/runplane/runplane/internal/store"
)

// Identity objects (users, groups, roles, role bindings, API tokens) are addressed by id. Their store errors are
// worded for clients (they name what is missing, taken or in the way), so they are shown as they are.

// storeErr shows the client the store's own message for a missing, taken or invalid object.
func storeErr(err error) error {
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrInvalid) {
		return withMsg(err, "%s", err.Error())
	}
	return err
}

// answer writes v as the 200 answer to a create or update and names id for the audit log.
func answer(w http.ResponseWriter, id string, v any) error {
	setTarget(w, id)
	writeJSON(w, http.StatusOK, v)
	return nil
}

// deleted answers a delete.
func deleted(w http.ResponseWriter, what string) error {
	writeJSON(w, http.StatusOK, msg{Msg: what + " deleted successfully"})
	return nil
}

// listOf answers the items of all the caller may read (keep), unpaged but with a Content-Range.
func listOf[T any](w http.ResponseWriter, kind string, all []T, keep func(T) bool) {
	out := make([]T, 0, len(all))
	for _, x := range all {
		if keep(x) {
			out = append(out, x)
		}
	}
	writeList(w, kind, out, span{}, len(out))
}

// sameSet reports whether a and b hold the same ids, in any order.
func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := make(map[string]bool, len(a))
	for _, x := range a {
		m[x] = true
	}
	for _, x := range b {
		if !m[x] {
			return false
		}
	}
	return true
}
