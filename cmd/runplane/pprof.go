//go:build pprof

package main

// Built with -tags pprof only (never in a release): with RUNPLANE_PPROF_ADDR set to a loopback address, the
// process serves net/http/pprof there, to profile a server under a benchmark (see test/e2e's
// RUNPLANE_E2E_TAGS).

import (
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
)

func init() {
	addr := os.Getenv("RUNPLANE_PPROF_ADDR")
	os.Unsetenv("RUNPLANE_PPROF_ADDR") // the processes the server starts from its own binary are not profiled
	if addr == "" || len(os.Args) < 2 || os.Args[1] != "serve" {
		return
	}
	host, _, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		return // loopback only: a profile shows what the process holds
	}
	go http.ListenAndServe(addr, http.DefaultServeMux)
}
