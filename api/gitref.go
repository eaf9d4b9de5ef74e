package api

import (
	"strings"
	"unicode/utf8"
)

// MaxBranchLen bounds a runner's branch name.
const MaxBranchLen = 255

// ValidateBranch checks that git takes b as a branch name: the rules of `git check-ref-format --branch` (refs.c
// check_refname_format on refs/heads/<b>, plus --branch's own: not "HEAD", not starting with '-'), so that a runner
// saved with it does not fail at its first checkout. It is stricter in three ways only: "@" (git's shorthand for
// HEAD inside a repository) is refused, as are names longer than MaxBranchLen bytes and names that are not UTF-8.
func ValidateBranch(b string) error {
	if reason := branchProblem(b); reason != "" {
		return Invalidf("branch %q is not a valid git branch name: %s", b, reason)
	}
	return nil
}

// branchProblem says why b is not a branch name, or "" when it is one.
func branchProblem(b string) string {
	switch {
	case b == "":
		return "empty"
	case len(b) > MaxBranchLen:
		return "longer than 255 bytes"
	case !utf8.ValidString(b):
		return "not UTF-8"
	case b == "HEAD" || b == "@":
		return "names HEAD"
	case b[0] == '-':
		return "starts with '-'"
	case strings.Contains(b, ".."):
		return "contains '..'"
	case strings.Contains(b, "@{"):
		return "contains '@{'"
	case strings.HasSuffix(b, "."):
		return "ends with '.'"
	}
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case c < 0x20 || c == 0x7f:
			return "contains a control character"
		case strings.IndexByte(" ~^:?*[\\", c) >= 0:
			return "contains " + quoteByte(c)
		}
	}
	for _, part := range strings.Split(b, "/") {
		switch {
		case part == "":
			return "has an empty component ('//', or '/' at either end)"
		case part[0] == '.':
			return "has a component starting with '.'"
		case strings.HasSuffix(part, ".lock"):
			return "has a component ending with '.lock'"
		}
	}
	return ""
}

func quoteByte(c byte) string {
	if c == ' ' {
		return "a space"
	}
	return "'" + string(c) + "'"
}
