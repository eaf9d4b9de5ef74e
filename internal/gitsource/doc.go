// Package gitsource materialises a runner's repository at a branch into a job's working directory, fast.
//
// A Cache keeps one bare mirror per repository URL, fetches the wanted branch (coalescing concurrent fetches and
// reusing a result for Options.TTL), extracts each commit's tree once into a read-only directory, and copies that
// tree into every job's fresh directory in Go (never hard links: jobs may modify their files).
//
// Before fetching, a probe asks which commit the branch is at, without git: for a local repository it reads the
// refs from disk; over HTTP(S) it reads the smart HTTP ref advertisement with one GET. If that commit's tree is
// extracted already, nothing is fetched, so a branch that has not moved costs no git process. A probe that
// cannot tell (ssh, an unusual repository, any HTTP error) only means "fetch": git gives the user-facing error.
//
// The server never runs repository-controlled configuration. Trees are extracted raw (`git ls-tree` and
// `git cat-file --batch`): no .gitattributes filter, export-subst, ident or eol conversion applies, so a checkout's
// bytes are the commit's bytes. Hooks are off (core.hooksPath=/dev/null), and before git runs in a mirror its
// config is put back to the server's own and planted attributes and alternates are removed. The cache directory
// is 0700 and must belong to the server's user. CheckoutWith can give a checkout's files to a job's user.
//
// Without a git binary on PATH (runplane's image has none), http(s) and local repositories are read with go-git
// instead (builtin.go): a fetch one commit deep into a scratch repository, its tree written into the same cache,
// raw; ssh repositories then fail with ErrNoGit.
//
// git is run through a small hardened wrapper: no shell, a clean environment, no system or global config, a
// protocol allowlist, no prompts, and "--" before user-supplied arguments. The repository token goes to git only
// for http(s) remotes (never into the environment of a file:// or ssh fetch), and only through GIT_CONFIG_*
// environment variables as an http.extraHeader; to a probe only in its Authorization header. It must never
// appear in argv, in a URL, in the mirror's config, in logs or in error strings (git's stderr is scrubbed of it
// and of URL user info).
package gitsource
