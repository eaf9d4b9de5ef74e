// Package statestore writes the files of placements (a workload group at a destination) into state stores at
// Kratix's paths, so a GitOps agent that watched Kratix's repository keeps working: a directory on the server, or
// a git repository that is committed to and pushed.
//
// Layout (<store> is the state store's path, <dest> the destination's):
//
//	nestedByMetadata  <store>/<dest>/resources/<namespace>/<promise>/<name>/<pipeline>/<shortID>/<file>
//	                  <store>/<dest>/dependencies/<promise>/<pipeline>/<shortID>/<file>
//	none              <store>/<dest>/<file>, and <store>/<dest>/.kratix/<namespace>-<placement>.yaml listing them
//	aggregatedYAML    <store>/<dest>/<filename>: every placement's files as one multi-document YAML file
//
// Writes never leave the store: paths are checked ("..", absolute paths, .git) and a directory store's files are
// opened through an os.Root, which refuses symlinks that point out of it. A git store's commits are made in
// process with go-git (objtree.go: the branch's tree edited in memory; no work tree, hook, filter or attribute
// conversion) and pushed as a compare-and-swap of the branch: in process to a plain local bare repository
// (local.go), over go-git's transports to http(s) and to other local repositories (remote.go, fetched.go), with
// the git CLI through gitsource.Command for ssh only. This package must never decide where files go (see
// platform/schedule) nor read or write the runplane store.
package statestore
