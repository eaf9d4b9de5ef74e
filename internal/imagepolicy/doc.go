// Package imagepolicy decides which container images runners may name: an operator's allowlist of glob patterns
// (--image-allowlist), checked when a runner is saved, when a job is submitted and when a container executor
// starts one.
//
// Patterns are globs: `*` matches any run of characters except '/', `**` any run including '/', `?` one character
// other than '/'; everything else stands for itself. A pattern is matched against an image both as written and in
// its normalized Docker form (busybox → docker.io/library/busybox:latest, foo/bar:1 → docker.io/foo/bar:1), so
// docker.io/library/* allows busybox:1.36.
//
// What a pattern constrains depends on what follows its last '/':
//
//   - no ':' or '@' (docker.io/library/*, registry.corp/**): the repository, with any tag or digest;
//   - a ':' (docker.io/library/busybox:1.*): the repository and the tag; an image without a tag has tag latest
//     when it has no digest either, and no tag (so no match) when it is pinned by digest only;
//   - an '@' (registry.corp/**@sha256:*): the repository and the digest, with any tag; images without a
//     digest do not match. Both (x:1@sha256:*) constrain both.
//
// An image that is not a valid reference is never allowed by a non-empty list. An empty list allows everything.
//
// The package is pure: it never does I/O, never resolves or pulls an image (a tag is trusted as written; pin
// digests in the patterns to trust content), never panics on any input, and its errors never carry more than the
// image and the patterns, which are not secret. It imports only the standard library.
package imagepolicy
