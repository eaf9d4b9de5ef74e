package imagepolicy

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// ErrNotAllowed is wrapped by every error Check returns (a *NotAllowedError).
var ErrNotAllowed = errors.New("imagepolicy: image not allowed")

// Bounds Parse enforces: a list an operator can read, patterns a registry could hold.
const (
	MaxPatterns   = 1000
	MaxPatternLen = 512
)

// Allowlist is a parsed list of image patterns. The nil *Allowlist, like an empty one, allows every image. It is
// immutable and safe for concurrent use.
type Allowlist struct {
	patterns []pattern
}

// pattern is one compiled glob. tag and digest are nil when the pattern does not constrain them.
type pattern struct {
	text              string
	name, tag, digest *regexp.Regexp
}

// Parse compiles patterns (see the package doc for their syntax). Nil or empty allows everything. A pattern that is
// empty, holds whitespace or characters no image reference has, runs three '*' together, or is absurdly long is an
// error naming it.
func Parse(patterns []string) (*Allowlist, error) {
	if len(patterns) > MaxPatterns {
		return nil, fmt.Errorf("image allowlist: %d patterns, want at most %d", len(patterns), MaxPatterns)
	}
	a := &Allowlist{patterns: make([]pattern, 0, len(patterns))}
	for i, text := range patterns {
		p, err := compile(text)
		if err != nil {
			return nil, fmt.Errorf("image allowlist pattern %d %s: %w", i+1, quote(text), err)
		}
		a.patterns = append(a.patterns, p)
	}
	return a, nil
}

// Empty reports whether a allows every image: it is nil or has no pattern.
func (a *Allowlist) Empty() bool { return a == nil || len(a.patterns) == 0 }

// Patterns returns the patterns as written.
func (a *Allowlist) Patterns() []string {
	if a == nil {
		return nil
	}
	out := make([]string, len(a.patterns))
	for i, p := range a.patterns {
		out[i] = p.text
	}
	return out
}

// Check returns nil when a allows image, else a *NotAllowedError (which wraps ErrNotAllowed) saying why, with the
// patterns that are allowed. Every image is allowed by an empty list; an empty or malformed image by no other.
func (a *Allowlist) Check(image string) error {
	if a.Empty() {
		return nil
	}
	ref, ok := parseReference(image)
	if ok {
		for _, p := range a.patterns {
			if p.match(ref) {
				return nil
			}
		}
	}
	return &NotAllowedError{Image: image, Allowed: a.Patterns(), Malformed: !ok}
}

// IsReference reports whether image is a valid image reference (repository, optional tag, optional digest), as
// docker would pull it.
func IsReference(image string) bool {
	_, ok := parseReference(image)
	return ok
}

// NotAllowedError is an image the allowlist refuses. Its message is safe to show to whoever named the image.
type NotAllowedError struct {
	Image   string
	Allowed []string // the allowlist's patterns
	// Malformed says Image is not a valid image reference at all.
	Malformed bool
}

func (e *NotAllowedError) Error() string {
	var b strings.Builder
	switch {
	case e.Image == "":
		b.WriteString("an empty image is not allowed")
	case e.Malformed:
		fmt.Fprintf(&b, "image %s is not a valid image reference", quote(e.Image))
	default:
		fmt.Fprintf(&b, "image %s is not allowed", quote(e.Image))
	}
	b.WriteString(": allowed images are ")
	b.WriteString(strings.Join(e.Allowed, ", "))
	return b.String()
}

// Unwrap makes errors.Is(err, ErrNotAllowed) hold.
func (e *NotAllowedError) Unwrap() error { return ErrNotAllowed }

// quote quotes s for a message, cutting what is too long to read.
func quote(s string) string {
	const max = 200
	if len(s) > max {
		return fmt.Sprintf("%q...", s[:max])
	}
	return fmt.Sprintf("%q", s)
}

func (p pattern) match(ref reference) bool {
	if p.tag != nil && (ref.tag == "" || !p.tag.MatchString(ref.tag)) {
		return false
	}
	if p.digest != nil && (ref.digest == "" || !p.digest.MatchString(ref.digest)) {
		return false
	}
	for _, n := range ref.names {
		if p.name.MatchString(n) {
			return true
		}
	}
	return false
}

// compile splits a pattern into its repository, tag and digest globs (a ':' or '@' after the last '/') and
// compiles each.
func compile(text string) (pattern, error) {
	switch {
	case text == "":
		return pattern{}, errors.New("is empty")
	case len(text) > MaxPatternLen:
		return pattern{}, fmt.Errorf("is longer than %d characters", MaxPatternLen)
	case strings.TrimSpace(text) != text || strings.ContainsAny(text, " \t\r\n\v\f"):
		return pattern{}, errors.New("holds whitespace")
	case strings.Contains(text, "***"):
		return pattern{}, errors.New("runs three '*' together: use * (within a path component) or ** (across '/')")
	}
	for _, c := range text {
		if !allowedChar(c) {
			return pattern{}, fmt.Errorf("holds %q, which no image reference has", c)
		}
	}
	p := pattern{text: text}
	name := text
	lastSlash := strings.LastIndexByte(text, '/')
	if i := strings.IndexByte(text, '@'); i >= 0 {
		if i < lastSlash || strings.Count(text, "@") > 1 {
			return pattern{}, errors.New("has an '@' that does not start the digest after the repository")
		}
		var digest string
		name, digest = text[:i], text[i+1:]
		if digest == "" {
			return pattern{}, errors.New("ends with '@': give the digest (or sha256:*)")
		}
		p.digest = glob(digest)
	}
	if i := strings.LastIndexByte(name, ':'); i > lastSlash {
		var tag string
		name, tag = name[:i], name[i+1:]
		if tag == "" {
			return pattern{}, errors.New("has an empty tag after ':'")
		}
		p.tag = glob(tag)
	}
	if name == "" || strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/") || strings.Contains(name, "//") {
		return pattern{}, errors.New("has an empty repository path component")
	}
	p.name = glob(name)
	return p, nil
}

// allowedChar: what image references are made of, and the glob operators.
func allowedChar(c rune) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.ContainsRune("._-/:@+[]*?", c)
}

// glob compiles a glob (ASCII, checked by compile) to an anchored regular expression. RE2 matches in linear time
// whatever the pattern, so no pattern can make Check slow.
func glob(g string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString(`^`)
	for i := 0; i < len(g); i++ {
		switch {
		case strings.HasPrefix(g[i:], "**"):
			b.WriteString(`.*`)
			i++
		case g[i] == '*':
			b.WriteString(`[^/]*`)
		case g[i] == '?':
			b.WriteString(`[^/]`)
		default:
			b.WriteString(regexp.QuoteMeta(g[i : i+1]))
		}
	}
	b.WriteString(`$`)
	return regexp.MustCompile(b.String())
}
