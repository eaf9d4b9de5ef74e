package outbox

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
)

var Backoff = backoff

// Metrics are the outbox's metrics, for tests to read.
type Metrics struct {
	Delivered, Failed *prometheus.CounterVec
	Backlog           *prometheus.GaugeVec
}

func (o *Outbox) Metrics() Metrics {
	return Metrics{Delivered: o.metrics.delivered, Failed: o.metrics.failed, Backlog: o.metrics.backlog}
}

// FanOutNow runs one fan-out, as Run does at each round.
func (o *Outbox) FanOutNow(ctx context.Context) error { return o.fanOut(ctx) }
