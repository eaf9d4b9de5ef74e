// Package promise reads Kratix Promises and checks the resource requests made of them, as a Kubernetes API
// server with the promise's CustomResourceDefinition installed would: it parses a Promise file (YAML or JSON, as
// Kratix writes it), extracts the resource type its spec.api defines (group, names, scope, versions and their
// openAPIV3Schema), and prunes, defaults and validates a request's spec against that schema, answering in the API
// server's words with field paths ("spec.size: Unsupported value: \"xl\": supported values: \"small\", \"large\"").
//
// It is pure: no I/O, no store, no clock other than the one it is given. It must never run a pipeline; the
// workflows that fulfil promises and requests are started elsewhere.
//
// Unknown fields. Kubernetes prunes fields a structural schema does not declare, and kubectl (field validation
// Strict, its default since 1.27) refuses them instead. runplane refuses them: a misspelt field gets a 400 naming
// it rather than vanishing. Inside x-kubernetes-preserve-unknown-fields (or additionalProperties: true) anything
// is kept. A null given for a field that is not nullable is dropped and then defaulted, as the API server does.
package promise
