package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"

	"github.com/runplane/runplane/internal/store"
)

// Group commit.
//
// Every write runs on the writer's single connection, and a commit there (WAL frames written, shm locks taken
// and released, now and then a checkpoint) costs more than the statements it commits. So writes are batched:
// a caller queues its operation, and whoever holds the writer's token — the leader, one of the callers — begins a
// transaction, takes everything queued (up to maxBatch operations), runs each inside its own savepoint, commits,
// and wakes the callers of the batch. A lone writer leads at once and waits for no one; under load, what queues
// while one batch runs is the next. There is no writer goroutine: a batch costs no hand-off to lead.
//
// An operation that fails rolls back to its savepoint, alone, and its caller gets its error; the others commit.
// Every caller returns only after the transaction holding its operation committed (or failed), so what it wrote
// is visible to any later read on any connection. A batch is one BEGIN IMMEDIATE transaction: it holds the
// database's write lock throughout, which keeps ClaimJob exactly-once across processes.

// maxBatch bounds the operations in one transaction, so that a batch's callers wait for a bounded amount of
// work, and an operation that fails rolls back a bounded savepoint stack.
const maxBatch = 64

// Savepoint statements; every operation of a batch of several runs between them.
const (
	savepoint  = `SAVEPOINT op`
	release    = `RELEASE op`
	rollbackTo = `ROLLBACK TO op`
)

// writer batches the write operations of one Store.
type writer struct {
	db    *sql.DB // the single writer connection
	stmts *stmts  // its prepared statements
	token chan struct{}

	mu    sync.Mutex
	queue []*writeOp // waiting to be taken into a batch, oldest first
}

func newWriter(ctx context.Context, db *sql.DB, st *stmts) (*writer, error) {
	if err := st.warm(ctx, savepoint, release, rollbackTo); err != nil {
		return nil, err
	}
	return &writer{db: db, stmts: st, token: make(chan struct{}, 1)}, nil
}

// write runs fn in a batch transaction of the writer (see writer.do); queries are the statements fn runs, which it
// prepares first. The audit entry pending in ctx, if any, is written after fn in fn's savepoint: with fn's changes,
// or not at all.
func (s *Store) write(ctx context.Context, fn func(tx *wtx) error, queries ...string) error {
	p := store.AuditFrom(ctx)
	audited := p.Take()
	if audited {
		change := fn
		fn = func(tx *wtx) error {
			if err := change(tx); err != nil {
				return err
			}
			if _, err := tx.exec(insertAudit, auditArgs(p.Entry(), s.now())...); err != nil {
				return fmt.Errorf("audit entry: %w", err)
			}
			return nil
		}
		queries = append(queries, insertAudit)
	}
	var err error
	if s.dry != nil {
		err = s.dry.savepoint(fn)
	} else if err = s.ws.warm(ctx, queries...); err == nil {
		err = s.wr.do(ctx, fn)
	}
	if audited {
		p.Done(err == nil)
	}
	return err
}

type writeOp struct {
	ctx  context.Context
	fn   func(tx *wtx) error
	err  error         // fn's error or the batch's; set before done is closed
	done chan struct{} // closed when the operation's transaction ended, or it was dropped unrun
}

// do runs fn in a batch transaction and returns once that transaction committed: fn's error if fn failed (its
// changes are then rolled back, and only they), else the batch's error if the transaction failed. fn runs once
// at most; if ctx ends before fn is taken into a batch, do returns ctx.Err() without running it. Once taken, fn
// runs to the end and do waits for it: its statements are never interrupted, because SQLite would roll back the
// whole transaction, everyone's work.
//
// fn must not use the Store's pools: the writer's connection is busy with the batch. It runs its statements
// through tx; they should be prepared (stmts.warm) before do is called, or fn prepares them again every time.
func (w *writer) do(ctx context.Context, fn func(tx *wtx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	op := &writeOp{ctx: ctx, fn: fn, done: make(chan struct{})}
	w.mu.Lock()
	w.queue = append(w.queue, op)
	w.mu.Unlock()
	for {
		select {
		case <-op.done:
			return op.err
		default:
		}
		select {
		case <-op.done:
			return op.err
		case w.token <- struct{}{}:
			// Every batch taken before ends before the token is free, so op is still queued unless it just
			// ended; a full batch may also have left it for the next one.
			w.lead()
		case <-ctx.Done():
			if w.dequeue(op) {
				return ctx.Err()
			}
			<-op.done
			return op.err
		}
	}
}

// dequeue removes op from the queue; false if a leader already took it.
func (w *writer) dequeue(op *writeOp) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	i := slices.Index(w.queue, op)
	if i < 0 {
		return false
	}
	w.queue = slices.Delete(w.queue, i, i+1)
	return true
}

// take removes up to maxBatch operations from the front of the queue. Those whose ctx has ended are dropped
// with ctx.Err() instead, unrun.
func (w *writer) take() []*writeOp {
	w.mu.Lock()
	defer w.mu.Unlock()
	var batch []*writeOp
	n := 0
	for _, op := range w.queue {
		if len(batch) == maxBatch {
			break
		}
		n++
		if err := op.ctx.Err(); err != nil {
			op.err = err
			close(op.done)
			continue
		}
		batch = append(batch, op)
	}
	rest := copy(w.queue, w.queue[n:])
	clear(w.queue[rest:])
	w.queue = w.queue[:rest]
	return batch
}

// lead runs one batch and gives up the token.
func (w *writer) lead() {
	defer func() { <-w.token }()
	// Not the callers' contexts: cancelling one would interrupt a statement, and SQLite may then roll back the
	// whole transaction.
	ctx := context.Background()
	// Let goroutines that are ready to run go first: typically the callers of the last batch, just woken, about to
	// queue their next writes. With nothing else runnable (a lone writer) this returns at once; when the CPUs are
	// busy it turns batches of two into batches of ten (measured with 16 writers on 2 CPUs).
	runtime.Gosched()
	// Begin before taking the batch: while BEGIN IMMEDIATE waits for another process's write lock, callers can
	// still give up, and late ones still join.
	tx, err := w.db.BeginTx(ctx, nil)
	batch := w.take()
	if err != nil {
		finish(batch, fmt.Errorf("begin: %w", err))
		return
	}
	if len(batch) == 0 {
		tx.Rollback()
		return
	}
	t := &wtx{ctx: ctx, tx: tx, stmts: w.stmts}
	ended := false
	defer func() {
		if !ended { // fn panicked: the batch must not leave its callers waiting nor the connection in a transaction
			tx.Rollback()
			finish(batch, errors.New("write batch aborted by a panic"))
		}
	}()
	if err := t.run(batch); err != nil {
		tx.Rollback()
		ended = true
		finish(batch, err)
		return
	}
	err = tx.Commit()
	ended = true
	if err != nil {
		err = fmt.Errorf("commit: %w", err)
	}
	finish(batch, err)
}

// run runs the batch's operations, each in its own savepoint when there are several. It returns an error only
// if the transaction itself can no longer commit; then the whole batch fails.
func (t *wtx) run(batch []*writeOp) error {
	if len(batch) == 1 {
		// The transaction is the operation's savepoint.
		op := batch[0]
		if op.err = op.fn(t); op.err != nil {
			return op.err
		}
		return nil
	}
	for _, op := range batch {
		if _, err := t.exec(savepoint); err != nil {
			return fmt.Errorf("savepoint: %w", err)
		}
		op.err = op.fn(t)
		if op.err != nil {
			// If the error rolled the transaction back (SQLite does so on I/O errors, a full disk, ...), there is
			// no savepoint left to return to, and nothing of the batch to commit.
			if _, err := t.exec(rollbackTo); err != nil {
				return fmt.Errorf("roll back a failed operation (%w): %w", op.err, err)
			}
		}
		if _, err := t.exec(release); err != nil {
			return fmt.Errorf("release savepoint: %w", err)
		}
	}
	return nil
}

// finish ends the batch: operations that succeeded get err, the batch's outcome; those that failed keep their
// own error, as their changes are rolled back either way.
func finish(batch []*writeOp, err error) {
	for _, op := range batch {
		if op.err == nil {
			op.err = err
		}
		close(op.done)
	}
}

// wtx is a write operation's handle on its batch's transaction.
type wtx struct {
	ctx   context.Context
	tx    *sql.Tx
	stmts *stmts
}

func (t *wtx) stmt(query string) (*sql.Stmt, error) { return t.stmts.inTx(t.ctx, t.tx, query) }

func (t *wtx) exec(query string, args ...any) (sql.Result, error) {
	st, err := t.stmt(query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(t.ctx, args...)
}

func (t *wtx) query(query string, args ...any) (*sql.Rows, error) {
	st, err := t.stmt(query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(t.ctx, args...)
}

func (t *wtx) queryRow(query string, args ...any) scanner {
	st, err := t.stmt(query)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(t.ctx, args...)
}

// wrap says what failed, except in the store's own errors, whose messages are final.
func wrap(err error, format string, args ...any) error {
	var se *storeError
	if err == nil || errors.As(err, &se) {
		return err
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}
