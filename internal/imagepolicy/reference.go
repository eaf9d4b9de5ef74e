package imagepolicy

import (
	"regexp"
	"strings"
)

// The Docker reference grammar (github.com/distribution/reference), restated for the standard library.
const (
	maxNameLen  = 255 // of the repository name, registry included, as the registries have it
	maxImageLen = 4096
)

var (
	domainRe    = regexp.MustCompile(`^(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?$`)
	componentRe = regexp.MustCompile(`^[a-z0-9]+(?:(?:[_.]|__|-+)[a-z0-9]+)*$`)
	tagRe       = regexp.MustCompile(`^[\w][\w.-]{0,127}$`)
	digestRe    = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$`)
)

// Docker Hub, as normalized references name it.
const (
	defaultDomain = "docker.io"
	legacyDomain  = "index.docker.io"
	officialRepo  = "library/"
	defaultTag    = "latest"
)

// reference is a parsed image reference.
type reference struct {
	// names are the repository as written and normalized (docker.io/library/busybox); one entry when they agree.
	names []string
	// tag is the tag as written, or latest when the image names neither a tag nor a digest; "" for a digest-only
	// reference.
	tag    string
	digest string
}

// parseReference parses image as docker would pull it; ok is false for anything that is not a valid reference.
func parseReference(image string) (ref reference, ok bool) {
	if image == "" || len(image) > maxImageLen {
		return reference{}, false
	}
	name := image
	if i := strings.IndexByte(name, '@'); i >= 0 {
		name, ref.digest = name[:i], name[i+1:]
		if !digestRe.MatchString(ref.digest) ||
			(strings.HasPrefix(ref.digest, "sha256:") && len(ref.digest) != len("sha256:")+64) {
			return reference{}, false
		}
	}
	if i := strings.LastIndexByte(name, ':'); i >= 0 && !strings.Contains(name[i:], "/") {
		name, ref.tag = name[:i], name[i+1:]
		if !tagRe.MatchString(ref.tag) {
			return reference{}, false
		}
	}
	if ref.tag == "" && ref.digest == "" {
		ref.tag = defaultTag
	}
	if name == "" || len(name) > maxNameLen {
		return reference{}, false
	}
	domain, remote := splitDomain(name)
	if domain != "" && !domainRe.MatchString(domain) {
		return reference{}, false
	}
	for _, c := range strings.Split(remote, "/") {
		if !componentRe.MatchString(c) {
			return reference{}, false
		}
	}
	normalized := normalize(domain, remote)
	if len(normalized) > maxNameLen {
		return reference{}, false
	}
	ref.names = []string{name}
	if normalized != name {
		ref.names = append(ref.names, normalized)
	}
	return ref, true
}

// splitDomain splits a repository name into its registry ("" when it names none: Docker Hub) and the rest. The
// first component is a registry when it holds a '.' or a ':', is localhost, or has capitals (which repository
// paths never do).
func splitDomain(name string) (domain, remote string) {
	first, rest, found := strings.Cut(name, "/")
	if !found || (!strings.ContainsAny(first, ".:") && first != "localhost" && strings.ToLower(first) == first) {
		return "", name
	}
	return first, rest
}

// normalize is the fully qualified repository name: Docker Hub's registry and its library/ for official images.
func normalize(domain, remote string) string {
	if domain == "" || domain == legacyDomain {
		domain = defaultDomain
	}
	if domain == defaultDomain && !strings.Contains(remote, "/") {
		remote = officialRepo + remote
	}
	return domain + "/" + remote
}
