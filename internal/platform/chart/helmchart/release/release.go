// Package release installs, upgrades and uninstalls a composition's Helm release in a cluster, with the Helm v4
// SDK: the step a composition's install/upgrade/uninstall job runs (`runplane helm`, Main, with the chart, the
// composition and a kubeconfig as the job's input files; see README, "Charts as APIs"), and the per-definition
// access that step runs under (Access: a ServiceAccount whose Role allows exactly the kinds the chart renders).
//
// It must never log values (they may carry secrets) or the kubeconfig.
package release

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/restmapper"

	"github.com/runplane/runplane/internal/platform/chart/helmchart"
)

// Step is one release operation.
type Step string

// The steps of a composition's lifecycle.
const (
	Install   Step = "install" // install, or upgrade when the release exists (create or update of the instance)
	Uninstall Step = "uninstall"
)

// Options say where the release goes.
type Options struct {
	// Kubeconfig is the path of the kubeconfig the step uses (the definition's service account's, whose Role
	// allows the kinds helmchart.Render collected).
	Kubeconfig string
	// KrateoNamespace is passed to the chart as global.krateoNamespace and labels every object.
	KrateoNamespace string
	// Discovery, if not nil, is what the server discovered of the cluster (DiscoveryFile): Helm then takes its
	// capabilities and REST mapping from it instead of asking the API server.
	Discovery *Discovery
	// MaxHistory bounds the release's stored revisions (Krateo's HELM_MAX_HISTORY, 10); 0 means 10.
	MaxHistory int
	Logger     *slog.Logger
}

// Run runs step for the composition with the chart archive (a .tgz), returning the objects the release manages
// (the instance's status.managed).
func Run(ctx context.Context, step Step, archive []byte, c helmchart.Composition, o Options) ([]helmchart.Object, error) {
	cfg, err := configuration(c.Metadata.Namespace, o)
	if err != nil {
		return nil, err
	}
	name := c.ReleaseName()
	if step == Uninstall {
		u := action.NewUninstall(cfg)
		u.WaitStrategy = "hookOnly"
		if _, err := u.Run(name); err != nil {
			return nil, fmt.Errorf("uninstall release %s: %w", name, err)
		}
		return nil, nil
	}
	// Render first: the values are checked against the chart's schema and the objects listed, with Krateo's labels.
	rendered, err := helmchart.Render(archive, c, o.KrateoNamespace)
	if err != nil {
		return nil, err
	}
	ch, err := loader.LoadArchive(bytes.NewReader(archive))
	if err != nil {
		return nil, fmt.Errorf("load chart: %w", err)
	}
	hist := action.NewHistory(cfg)
	hist.Max = 1
	if _, herr := hist.Run(name); herr != nil { // no release yet: install
		in := action.NewInstall(cfg)
		in.ReleaseName, in.Namespace = name, c.Metadata.Namespace
		in.PostRenderer = labeler{labels: c.Labels(o.KrateoNamespace)}
		in.WaitStrategy = "hookOnly" // as Krateo: the release is done when applied (a cluster may run no pods)
		// The API server validates every object strictly as Helm applies it (server-side apply, fieldValidation
		// Strict): the client-side check against the OpenAPI schemas, which downloads and parses them in every
		// process, adds nothing but time.
		in.DisableOpenAPIValidation = true
		if _, err := in.RunWithContext(ctx, ch, rendered.Values); err != nil {
			return nil, fmt.Errorf("install release %s: %w", name, err)
		}
		return rendered.Objects, nil
	}
	up := action.NewUpgrade(cfg)
	up.Namespace = c.Metadata.Namespace
	up.MaxHistory = o.MaxHistory
	if up.MaxHistory == 0 {
		up.MaxHistory = 10
	}
	up.PostRenderer = labeler{labels: c.Labels(o.KrateoNamespace)}
	up.WaitStrategy = "hookOnly"
	up.DisableOpenAPIValidation = true // as for an install
	if _, err := up.RunWithContext(ctx, name, ch, rendered.Values); err != nil {
		return nil, fmt.Errorf("upgrade release %s: %w", name, err)
	}
	return rendered.Objects, nil
}

func configuration(namespace string, o Options) (*action.Configuration, error) {
	flags := genericclioptions.NewConfigFlags(false)
	flags.KubeConfig, flags.Namespace = &o.Kubeconfig, &namespace
	var getter genericclioptions.RESTClientGetter = flags
	cfg := action.NewConfiguration()
	if d := o.Discovery; d != nil {
		getter = knownMapper{flags, restmapper.NewDiscoveryRESTMapper(d.Groups)}
		cfg.Capabilities = &common.Capabilities{KubeVersion: d.KubeVersion, APIVersions: d.APIVersions,
			HelmVersion: common.DefaultCapabilities.HelmVersion}
	}
	if o.Logger != nil {
		cfg.SetLogger(o.Logger.Handler())
	}
	if err := cfg.Init(getter, namespace, "secret"); err != nil {
		return nil, fmt.Errorf("helm configuration: %w", err)
	}
	return cfg, nil
}

// knownMapper maps kinds with the server's discovery first, and discovers only the kinds it lacks.
type knownMapper struct {
	*genericclioptions.ConfigFlags
	known meta.RESTMapper
}

func (k knownMapper) ToRESTMapper() (meta.RESTMapper, error) {
	live, err := k.ConfigFlags.ToRESTMapper()
	if err != nil {
		return nil, err
	}
	return fallbackMapper{first: k.known, then: live}, nil
}
