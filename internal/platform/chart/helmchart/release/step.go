package release

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/platform/chart"
	"github.com/runplane/runplane/internal/platform/chart/helmchart"
)

// The step a composition's job runs: `runplane helm install|uninstall`, its input files in the job's input
// directory ($RUNPLANE_INPUT_DIR): the chart (.tgz), the composition (JSON: apiVersion, kind, resource, metadata,
// spec) and the kubeconfig. It prints what the instance's status is built from as the job's ^JSON block
// (Output); errors name the release, never a value or the kubeconfig.

// Input file names.
const (
	ChartFile       = "chart.tgz"
	CompositionFile = "composition.json"
	KubeconfigFile  = "kubeconfig"
)

// Output is the step's ^JSON result.
type Output struct {
	Release string                `json:"release"`
	Managed []chart.ManagedObject `json:"managed"`
	Digest  string                `json:"digest,omitempty"`
	// Version is the type version (v0-1-0) the release was installed from: the composition's apiVersion's.
	Version string `json:"version,omitempty"`
}

// StepArg is the first argument that makes a binary run the step (see MaybeRunStep).
const StepArg = "helm"

// MaybeRunStep runs the step and exits when the process was started as one (os.Args[1] == StepArg): a test
// binary then stands in for `runplane` as the composition jobs' command.
func MaybeRunStep() {
	if len(os.Args) > 1 && os.Args[1] == StepArg {
		os.Exit(Main(context.Background(), os.Args[2:], os.Stdout, os.Stderr))
	}
}

// StepEnv is the step's environment (the job's gets nothing of the server's): GOGC=off, so that the binary's
// package initialization, some 9 MB of allocations, runs without a collection — a third of a process start on a
// busy core; Main turns the collector on again for the release itself.
func StepEnv() api.EnvVars { return api.EnvVars{{Name: "GOGC", Value: "off"}} }

// Main runs `helm install|uninstall [flags]` and returns the exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if os.Getenv("GOGC") == "off" {
		debug.SetGCPercent(100) // StepEnv's GOGC=off was for the start only
	}
	if err := runStep(ctx, args, stdout); err != nil {
		fmt.Fprintln(stderr, "Error:", err)
		return 1
	}
	return 0
}

func runStep(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || (args[0] != string(Install) && args[0] != string(Uninstall) && args[0] != "upgrade") {
		return errors.New("usage: runplane helm install|upgrade|uninstall [--dir DIR] [--chart FILE] [--composition FILE] [--kubeconfig FILE] [--discovery FILE] [--krateo-namespace NS]")
	}
	step := Install // install and upgrade are one: an upgrade when the release exists
	if args[0] == string(Uninstall) {
		step = Uninstall
	}
	fs := flag.NewFlagSet("helm "+args[0], flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	dir := fs.String("dir", os.Getenv("RUNPLANE_INPUT_DIR"), "the directory of the input files")
	chartPath := fs.String("chart", "", "the chart archive (default DIR/"+ChartFile+")")
	compPath := fs.String("composition", "", "the composition, JSON (default DIR/"+CompositionFile+")")
	kubeconfig := fs.String("kubeconfig", "", "the kubeconfig (default DIR/"+KubeconfigFile+")")
	discoveryPath := fs.String("discovery", "", "the server's discovery of the cluster, if any (default DIR/"+DiscoveryFile+")")
	krateoNS := fs.String("krateo-namespace", "krateo-system", "global.krateoNamespace")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	in := func(p *string, name string) string {
		if *p != "" {
			return *p
		}
		return filepath.Join(*dir, name)
	}
	b, err := os.ReadFile(in(compPath, CompositionFile))
	if err != nil {
		return fmt.Errorf("read the composition: %w", err)
	}
	var c helmchart.Composition
	if err := json.Unmarshal(b, &c); err != nil {
		return fmt.Errorf("read the composition: %w", err)
	}
	var archive []byte
	if step == Install {
		if archive, err = os.ReadFile(in(chartPath, ChartFile)); err != nil {
			return fmt.Errorf("read the chart: %w", err)
		}
	}
	kc := in(kubeconfig, KubeconfigFile)
	if _, err := os.Stat(kc); err != nil {
		return errors.New("no kubeconfig: the step needs the cluster's (input file " + KubeconfigFile + ")")
	}
	opts := Options{Kubeconfig: kc, KrateoNamespace: *krateoNS}
	// Optional: without it Helm discovers for itself. One named with --discovery must be there.
	if b, err := os.ReadFile(in(discoveryPath, DiscoveryFile)); err == nil {
		var d Discovery
		if err := json.Unmarshal(b, &d); err != nil {
			return fmt.Errorf("read the discovery: %w", err)
		}
		opts.Discovery = &d
	} else if *discoveryPath != "" {
		return fmt.Errorf("read the discovery: %w", err)
	}
	fmt.Fprintf(stdout, "%s release %s of %s %s/%s\n", step, c.ReleaseName(), c.Kind, c.Metadata.Namespace, c.Metadata.Name)
	objs, err := Run(ctx, step, archive, c, opts)
	if err != nil {
		return err
	}
	out := Output{Release: c.ReleaseName(), Managed: []chart.ManagedObject{}}
	_, out.Version, _ = strings.Cut(c.APIVersion, "/")
	if step == Install {
		sum := sha256.Sum256(archive)
		out.Digest = "sha256:" + hex.EncodeToString(sum[:])
	}
	for _, o := range objs {
		ns := o.Namespace
		if ns == "" && o.Kind != "Namespace" {
			ns = c.Metadata.Namespace
		}
		out.Managed = append(out.Managed, chart.ManagedObject{APIVersion: o.APIVersion, Resource: chart.Plural(o.Kind),
			Name: o.Name, Namespace: ns, Path: o.Source})
		fmt.Fprintf(stdout, "  %s %s %s/%s\n", o.APIVersion, o.Kind, ns, o.Name)
	}
	j, err := json.Marshal(out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "^JSON\n%s\n^JSON\n", j)
	return nil
}
