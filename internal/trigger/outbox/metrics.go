package outbox

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	delivered *prometheus.CounterVec
	failed    *prometheus.CounterVec
	backlog   *prometheus.GaugeVec
	pending   prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		delivered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "runplane_events_delivered_total", Help: "Events delivered to an event sink, by sink.",
		}, []string{"sink"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "runplane_events_delivery_failures_total", Help: "Failed attempts to deliver an event, by sink.",
		}, []string{"sink"}),
		backlog: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "runplane_events_backlog", Help: "Events an event sink has still to receive, by sink.",
		}, []string{"sink"}),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "runplane_events_pending", Help: "Events in the outbox not yet fanned out to the sinks.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.delivered, m.failed, m.backlog, m.pending)
	}
	return m
}

// forget drops the series of a sink that was deleted.
func (m *metrics) forget(sink string) {
	m.delivered.DeleteLabelValues(sink)
	m.failed.DeleteLabelValues(sink)
	m.backlog.DeleteLabelValues(sink)
}

// observeBacklog reads the backlog from the store (it is the store's, shared by every replica), sets the gauges
// and returns the deliveries each sink has left.
func (o *Outbox) observeBacklog(ctx context.Context) (map[string]int, error) {
	due, pending, err := o.st.EventBacklog(ctx)
	if err != nil {
		return nil, err
	}
	o.metrics.pending.Set(float64(pending))
	o.mu.Lock()
	defer o.mu.Unlock()
	for name := range o.sinks {
		o.metrics.backlog.WithLabelValues(name).Set(float64(due[name]))
	}
	return due, nil
}
