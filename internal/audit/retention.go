package audit

import (
	"context"
	"log/slog"
	"time"
)

// Pruner deletes old audit entries; the store implements it.
type Pruner interface {
	// PruneAudit deletes the entries created before before and returns how many it deleted.
	PruneAudit(ctx context.Context, before time.Time) (int, error)
}

// RunRetention deletes entries older than keep, at once and then every interval, until ctx ends; keep <= 0 keeps
// them forever. It is the only way entries are ever deleted: the API offers none. A failed pass is logged and
// tried again at the next interval: retention never stops the server. now nil means time.Now.
func RunRetention(ctx context.Context, p Pruner, keep, interval time.Duration, now func() time.Time, log *slog.Logger) error {
	if keep <= 0 {
		<-ctx.Done()
		return nil
	}
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		before := now().Add(-keep)
		if n, err := p.PruneAudit(ctx, before); err != nil && ctx.Err() == nil {
			log.Warn("prune audit entries", "err", err, "pruned", n)
		} else if n > 0 {
			log.Info("pruned audit entries", "count", n, "older_than", keep.String(), "before", before)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
