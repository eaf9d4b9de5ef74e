// Command image builds runplane's container image without Docker, as a docker-archive tarball that
// `docker load` and `ctr -n k8s.io images import` accept:
//
//	CGO_ENABLED=0 go build -trimpath -o /tmp/rp/runplane ./cmd/runplane
//	CGO_ENABLED=0 go build -trimpath -ldflags=-s -o /tmp/rp/runplane-pid1 ./cmd/runplane-pid1
//	go run ./hack/image -binary /tmp/rp/runplane -pid1 /tmp/rp/runplane-pid1 -tag docker.io/runplane/runplane:e2e -o /tmp/rp/img.tar
//
// The image holds the static binaries as /usr/local/bin/runplane and /usr/local/bin/runplane-pid1 (what job pods
// run as PID 1: the init container copies it into each pod, a few MB where runplane is tens), the build host's CA bundle (the server and the
// jobs' checkout clone over https), a runplane user and group 65532, /tmp and the data dir /data. It runs
// `runplane serve` as 65532 on :8080 with its state in /data. The same inputs always give the same image digest:
// every file has a fixed owner and modification time and the entries are sorted.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

// run parses args, builds the image and writes the tarball, then prints one line on stdout: the tarball, the
// tag, the manifest's digest and the image ID.
func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("image", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var opt options
	var out string
	fs.StringVar(&opt.Binary, "binary", "", "static runplane binary to put in the image (CGO_ENABLED=0 go build -trimpath ./cmd/runplane)")
	fs.StringVar(&opt.PID1, "pid1", "", "static runplane-pid1 binary to put next to it (CGO_ENABLED=0 go build -trimpath ./cmd/runplane-pid1)")
	fs.StringVar(&opt.Tag, "tag", "docker.io/runplane/runplane:e2e", "full image reference the tarball names, registry and tag included")
	fs.StringVar(&out, "o", "runplane-image.tar", "where to write the docker-archive tarball")
	fs.StringVar(&opt.CACerts, "ca-certs", "/etc/ssl/certs/ca-certificates.crt", "PEM bundle of trusted CAs to copy into the image")
	fs.StringVar(&opt.Version, "version", "", "org.opencontainers.image.version label (omitted when empty)")
	fs.StringVar(&opt.Revision, "revision", "", "org.opencontainers.image.revision label, the git commit (omitted when empty)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if opt.Binary == "" {
		return fmt.Errorf("-binary is required: the path of a runplane binary built with CGO_ENABLED=0")
	}
	if opt.PID1 == "" {
		return fmt.Errorf("-pid1 is required: the path of a runplane-pid1 binary built with CGO_ENABLED=0 from ./cmd/runplane-pid1")
	}
	digest, id, err := writeImage(opt, out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s %s %s %s\n", out, opt.Tag, digest, id)
	return nil
}
