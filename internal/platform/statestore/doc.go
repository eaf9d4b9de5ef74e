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
// Writes never leave the store: paths are checked ("..", absolute paths, .git) and files are opened through an
// os.Root, which refuses symlinks that point out of it. Git runs through gitsource.Command (no hooks, no
// filters, credentials only in git's environment). This package must never decide where files go (see
// platform/schedule) nor read or write the runplane store.
package statestore
