// Package chart is the pure half of Krateo's CompositionDefinitions: it reads a CompositionDefinition file (YAML
// or JSON, as Krateo writes it) and checks it field by field, says which kind of source its chart URL is, turns a
// chart's Chart.yaml and values.schema.json into the resource type the definition generates (group
// composition.krateo.io, version "v" + the chart version with dots as dashes, kind the chart name in PascalCase,
// a structural openAPIV3Schema a Kubernetes API server accepts, Krateo's status schema), adds a chart version to
// that type as one more served version, and computes the definition's status.
//
// It does no I/O: fetching a chart (Helm SDK) and rendering it are in package helmchart, so that what imports
// this package does not build Helm. It must never hold a credential: credentials are named (passwordRef), and
// resolved by the fetcher only for the request that needs them.
package chart
