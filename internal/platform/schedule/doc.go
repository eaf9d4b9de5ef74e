// Package schedule decides where a pipeline's output goes, as Kratix decides it: which workload groups the
// output makes (destination-selectors.yaml), which selectors apply to each (the promise's, the promise
// workflow's, the resource workflow's, in Kratix's order of precedence), and which destinations each group is
// placed at (one for a resource request, sticky once chosen; all matching for a promise's output and its
// dependencies; strictMatchLabels honoured).
//
// It is pure: no I/O, no clock, no randomness (where Kratix picks a random destination, Select picks one by a
// hash of the placement's identity, so the same request lands at the same destination every time). It must never
// read or write files or a store; callers pass what they read and persist what it decides.
package schedule
