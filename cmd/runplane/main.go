// Command runplane is the runplane server and its command line in one binary; see internal/cli. Called
// runplane-pid1 (a copy in a job's pod, when its image had no runplane-pid1 of its own), it is that program; called
// runplane-forward (a static build mounted into a workflow step's podman container), that one.
package main

import (
	"context"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/runplane/runplane/internal/cli"
	"github.com/runplane/runplane/internal/inpod/forward"
	"github.com/runplane/runplane/internal/inpod/pid1"
)

func main() {
	if filepath.Base(os.Args[0]) == pid1.Name {
		os.Exit(pid1.Main(os.Args[1:]))
	}
	if filepath.Base(os.Args[0]) == forward.Name {
		os.Exit(forward.Main(os.Args[1:]))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
