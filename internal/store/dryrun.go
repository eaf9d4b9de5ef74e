package store

import "context"

// DryRunner is implemented by stores that can try a request's changes without keeping them (the API's
// ?dryRun=All).
type DryRunner interface {
	// DryRun calls fn with a view of the store whose every read and write runs in one transaction, rolled back
	// when fn returns: fn sees its own changes (and the errors they meet, as for real), other callers never do,
	// and nothing is stored. Writes of the view fail alone, as in a batch: a failed write rolls back only itself.
	// The view is for one goroutine and for the duration of fn only. While fn runs it holds what a real write
	// holds (SQLite: the single writer; PostgreSQL: the catalog lock), so fn must be quick and must not write
	// through the store itself. fn's writes should carry no pending audit entry (WithAudit): they would mark it
	// written, though nothing commits. DryRun returns fn's error.
	DryRun(ctx context.Context, fn func(view Store) error) error
}
