// Package composer reconciles Krateo compositions: each stored change to one (httpapi.CompositionReconciler)
// becomes a workflow run of one step, `runplane helm install|uninstall`, that the job engine runs — visible,
// logged, cancellable — with the chart archive, the composition and the cluster's kubeconfig as the job's input
// files; a failed run is started again with exponential backoff. The run's ^JSON result (the release's managed
// objects and the chart's digest) becomes the composition's status, as Krateo shows it. A delete is held until the
// uninstall succeeded (a finalizer): only then is the composition removed from the store.
//
// It must never log, store in a status or put in an error the kubeconfig, the chart's credentials or the values.
package composer
