package jobs

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/runplane/runplane/internal/store"
)

type metrics struct {
	submitted prometheus.Counter
	finished  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	running   prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer, queueDepth func() float64) *metrics {
	m := &metrics{
		submitted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "runplane_jobs_submitted_total", Help: "Jobs accepted into the queue.",
		}),
		finished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "runplane_jobs_total", Help: "Jobs finished, by task and outcome (succeeded, failed, cancelled).",
		}, []string{"task", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "runplane_job_duration_seconds",
			Help:    "Time from a job's start to its end, by task.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600},
		}, []string{"task"}),
		running: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "runplane_jobs_running", Help: "Jobs this server is running now.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.submitted, m.finished, m.duration, m.running,
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "runplane_queue_depth", Help: "Jobs waiting in the queue.",
			}, queueDepth))
	}
	return m
}

func (m *metrics) observe(j store.Job) {
	m.finished.WithLabelValues(j.Task, string(j.Status)).Inc()
	if j.StartTime != nil && j.CompletionTime != nil {
		m.duration.WithLabelValues(j.Task).Observe(j.CompletionTime.Sub(*j.StartTime).Seconds())
	}
}
