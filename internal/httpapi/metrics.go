package httpapi

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/runplane/runplane/internal/store"
)

// /metrics is unauthenticated, like /healthz and /readyz, so a Prometheus server can scrape it without a
// runplane account. It shows only what the registry it is given holds: HTTP request durations by route pattern
// and the job engine's counters, histograms and gauges (labelled by task name and outcome), plus what the server
// adds (Go runtime, process, build info). Nothing there is a secret; label values are never raw paths, tokens or
// inputs.

type httpMetrics struct {
	duration *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) (*httpMetrics, error) {
	m := &httpMetrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "runplane_http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by method, route pattern and status code.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"method", "route", "code"}),
	}
	if reg == nil {
		return m, nil
	}
	if err := reg.Register(m.duration); err != nil {
		var are prometheus.AlreadyRegisteredError
		if !errors.As(err, &are) {
			return nil, err
		}
		existing, ok := are.ExistingCollector.(*prometheus.HistogramVec)
		if !ok {
			return nil, err
		}
		m.duration = existing
	}
	return m, nil
}

func metricsHandler(g prometheus.Gatherer) http.Handler {
	if g == nil {
		g = prometheus.NewRegistry()
	}
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{})
}

func (h *Handler) serveMetrics(w http.ResponseWriter, r *http.Request) error {
	h.metricsPage.ServeHTTP(w, r)
	return nil
}

// healthz is liveness: it answers 200 as long as the process serves HTTP.
func (h *Handler) healthz(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

// readyz is readiness: 200 when the store answers, else 503.
func (h *Handler) readyz(w http.ResponseWriter, r *http.Request) error {
	if h.ready != nil {
		if err := h.ready(r.Context()); err != nil {
			h.log.WarnContext(r.Context(), "not ready", "err", err)
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
			return nil
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

// statusWriter remembers what a handler answered, for the metrics and the access log.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
	route  string // the matched pattern's path; "" when no route matched
	user   string // the authenticated caller's username; "" when there is none
	quiet  bool   // health and metrics requests are logged at debug level
	target string // what a mutation acted on, when its path does not say (setTarget)
	// pending is the audit entry of a mutation, which the store writes with the change it records.
	pending *store.PendingAudit
	// beforeAnswer, when set, runs once before the response starts: a change to who may do what takes effect
	// before the client can act on the answer.
	beforeAnswer func()
}

func (s *statusWriter) answering() {
	if f := s.beforeAnswer; f != nil {
		s.beforeAnswer = nil
		f()
	}
}

func (s *statusWriter) WriteHeader(code int) {
	s.answering()
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	s.answering()
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection (Flush for streamed logs).
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Flush passes through to the connection.
func (s *statusWriter) Flush() {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	_ = http.NewResponseController(s.ResponseWriter).Flush()
}

func routeOf(w http.ResponseWriter) string {
	if sw, ok := w.(*statusWriter); ok && sw.route != "" {
		return sw.route
	}
	return "unmatched"
}

// observe gives every request its id (X-Request-Id), times it, records it in the duration histogram and writes
// one access log line: method, route pattern, status, duration and size, the authenticated user, the client's
// address and the request id; never other headers, bodies, query strings or tokens. A panicking handler answers
// 500 and is logged.
func (h *Handler) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := requestIDOf(r)
		w.Header().Set(requestIDHeader, id)
		r = r.WithContext(withRequestID(r.Context(), id))
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				h.log.ErrorContext(r.Context(), "handler panic", "method", r.Method, "route", routeOf(sw), "panic", v, "request_id", id)
				if sw.status == 0 {
					writeJSON(sw, http.StatusInternalServerError, map[string]string{"error": "internal server error"})
				}
			}
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			d := time.Since(start)
			route := routeOf(sw)
			h.metrics.duration.WithLabelValues(methodLabel(r.Method), route, strconv.Itoa(status)).Observe(d.Seconds())
			level := slog.LevelInfo
			if sw.quiet && status < 400 {
				level = slog.LevelDebug
			}
			h.log.LogAttrs(r.Context(), level, "http request",
				slog.String("method", methodLabel(r.Method)),
				slog.String("route", route),
				slog.Int("status", status),
				slog.Duration("duration", d),
				slog.Int64("bytes", sw.bytes),
				slog.String("user", sw.user),
				slog.String("client", sourceAddr(r)),
				slog.String("request_id", id),
			)
		}()
		next.ServeHTTP(sw, r)
	})
}

// methodLabel keeps the metric's method label to the methods HTTP defines, so a client cannot invent new series.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete,
		http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "other"
}
