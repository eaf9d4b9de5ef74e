// Package kubesecret reads the Kubernetes Secrets that runplane's resources name when the server runs with a
// cluster: a GitStateStore's secretRef (Kratix's) and a CompositionDefinition's passwordRef (Krateo's). It is the
// one reader of both, so both say the same thing when a Secret or a key is missing.
//
// It must never log, wrap into an error or return anything of a Secret but the data asked for: errors name the
// Secret (namespace/name) and the key, never a value.
package kubesecret
