package server

import (
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// registerProcessMetrics adds to reg what every Prometheus-scraped Go service shows besides its own metrics: the
// Go runtime (go_*), the process (process_*: CPU, memory, open files) and runplane_build_info, whose labels say
// which build serves.
func registerProcessMetrics(reg prometheus.Registerer, version, commit string) error {
	if version == "" {
		version = "dev"
	}
	if commit == "" {
		commit = stampedCommit()
	}
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "runplane_build_info",
		Help:        "Always 1; the labels name the version and VCS commit of the running runplane binary.",
		ConstLabels: prometheus.Labels{"version": version, "commit": commit},
	})
	build.Set(1)
	for _, c := range []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		build,
	} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// stampedCommit is the VCS revision the go command recorded in the binary; "" when it recorded none (go test,
// builds outside a repository).
func stampedCommit() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
	}
	return ""
}
