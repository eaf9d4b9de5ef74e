// Package helmchart is the Helm half of Krateo's CompositionDefinitions, on the Helm v4 SDK: it fetches the chart
// a definition names (an OCI registry, an http(s) Helm repository and its index.yaml, or a direct .tgz URL, with
// basic-auth credentials), reads it into a chart.Package, and renders a composition's release (values merged with
// Krateo's injected global.composition* values, krateo.io/composition-* labels on every object) to collect the
// kinds the chart produces.
//
// It must never log, wrap into an error or return a credential: errors name the URL (which may not carry
// credentials, package chart refuses those) and what failed. It must never read ambient credentials (a docker
// or helm registry config of the process): only what the definition names is sent.
package helmchart
