package imagepolicy

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

var checkTests = []struct {
	name     string
	patterns []string
	image    string
	allowed  bool
}{
	// Tag-less patterns constrain the repository: any tag or digest.
	{"official image short", []string{"docker.io/library/*"}, "busybox:1.36", true},
	{"official image no tag", []string{"docker.io/library/*"}, "busybox", true},
	{"official image written in full", []string{"docker.io/library/*"}, "docker.io/library/busybox:1.36", true},
	{"legacy hub domain", []string{"docker.io/library/*"}, "index.docker.io/library/busybox", true},
	{"hub domain without library", []string{"docker.io/library/*"}, "docker.io/busybox", true},
	{"official image by digest", []string{"docker.io/library/*"}, "busybox@" + digest, true},
	{"official image by tag and digest", []string{"docker.io/library/*"}, "busybox:1.36@" + digest, true},
	{"user image is not library", []string{"docker.io/library/*"}, "foo/bar:1", false},
	{"star stops at slash", []string{"docker.io/library/*"}, "docker.io/library/a/b", false},
	{"user image normalized", []string{"docker.io/foo/*"}, "foo/bar:1", true},
	{"pattern as written matches image as written", []string{"busybox"}, "busybox:1.36", true},
	{"short pattern matches no other registry", []string{"busybox"}, "evil.io/busybox", false},
	{"double star crosses slashes", []string{"registry.corp/**"}, "registry.corp/team/app/sub:2", true},
	{"double star needs the registry", []string{"registry.corp/**"}, "registry.corp.evil.io/app:1", false},
	{"prefix is not a registry", []string{"registry.corp/**"}, "evil.io/registry.corp/app", false},
	{"registry with port", []string{"localhost:5000/*"}, "localhost:5000/x", true},
	{"localhost keeps its registry", []string{"docker.io/**"}, "localhost/x", false},
	{"localhost pattern", []string{"localhost/*"}, "localhost/x:dev", true},
	{"port is not a tag", []string{"localhost:5000/x"}, "localhost:5000/x:1", true},
	{"question mark one char", []string{"registry.corp/app?"}, "registry.corp/app2", true},
	{"question mark not two", []string{"registry.corp/app?"}, "registry.corp/app23", false},
	{"question mark not slash", []string{"registry.corp/app?x"}, "registry.corp/app/x", false},
	{"everything", []string{"**"}, "evil.io/x:1", true},
	{"second pattern", []string{"docker.io/library/*", "registry.corp/**"}, "registry.corp/a:1", true},
	{"no pattern matches", []string{"docker.io/library/*", "registry.corp/**"}, "evil.io/x:1", false},
	// Tag patterns constrain the tag; an image without one has latest, unless it is pinned by digest only.
	{"tag glob", []string{"docker.io/library/busybox:1.*"}, "busybox:1.36", true},
	{"tag glob other tag", []string{"docker.io/library/busybox:1.*"}, "busybox:2.0", false},
	{"tag pattern implicit latest", []string{"docker.io/library/busybox:latest"}, "busybox", true},
	{"tag pattern short form", []string{"busybox:latest"}, "busybox", true},
	{"tag pattern digest only", []string{"docker.io/library/busybox:*"}, "busybox@" + digest, false},
	{"tag pattern tag and digest", []string{"docker.io/library/busybox:1.36"}, "busybox:1.36@" + digest, true},
	// Digest patterns require a digest.
	{"digest pinned", []string{"registry.corp/**@sha256:*"}, "registry.corp/app@" + digest, true},
	{"digest pinned with tag", []string{"registry.corp/**@sha256:*"}, "registry.corp/app:1@" + digest, true},
	{"digest missing", []string{"registry.corp/**@sha256:*"}, "registry.corp/app:1", false},
	{"exact digest", []string{"docker.io/library/busybox@" + digest}, "busybox@" + digest, true},
	{"other digest", []string{"docker.io/library/busybox@" + digest}, "busybox@sha256:" + strings.Repeat("f", 64), false},
	{"tag and digest pattern", []string{"docker.io/library/busybox:1.36@sha256:*"}, "busybox:1.36@" + digest, true},
	{"tag and digest pattern wrong tag", []string{"docker.io/library/busybox:1.36@sha256:*"}, "busybox:1.37@" + digest, false},
	// Images that are not references are never allowed by a list.
	{"empty image", []string{"**"}, "", false},
	{"uppercase repository", []string{"**"}, "docker.io/library/BusyBox", false},
	{"space", []string{"**"}, "busybox :1", false},
	{"url", []string{"**"}, "https://registry.corp/app", false},
	{"short digest", []string{"**"}, "busybox@sha256:abc", false},
	{"bad tag", []string{"**"}, "busybox:-1", false},
	{"traversal", []string{"registry.corp/**"}, "registry.corp/../evil", false},
	{"empty component", []string{"registry.corp/**"}, "registry.corp//app", false},
	{"too long", []string{"**"}, "registry.corp/" + strings.Repeat("a", 300), false},
	{"capital registry is a registry", []string{"Registry.corp/*"}, "Registry.corp/app", true},
	{"ipv6 registry", []string{"[::1]:5000/*"}, "[::1]:5000/app:1", true},
}

func TestCheck(t *testing.T) {
	t.Parallel()
	for _, tt := range checkTests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, err := Parse(tt.patterns)
			if err != nil {
				t.Fatalf("Parse(%q) = %v", tt.patterns, err)
			}
			err = a.Check(tt.image)
			if tt.allowed {
				if err != nil {
					t.Errorf("Parse(%q).Check(%q) = %v, want allowed", tt.patterns, tt.image, err)
				}
				return
			}
			if !errors.Is(err, ErrNotAllowed) {
				t.Fatalf("Parse(%q).Check(%q) = %v, want ErrNotAllowed", tt.patterns, tt.image, err)
			}
			var na *NotAllowedError
			if !errors.As(err, &na) || na.Image != tt.image || !cmp.Equal(na.Allowed, tt.patterns) {
				t.Errorf("Parse(%q).Check(%q) = %#v, want a *NotAllowedError naming the image and patterns", tt.patterns, tt.image, err)
			}
		})
	}
}

func TestIsReference(t *testing.T) {
	t.Parallel()
	for _, image := range []string{"busybox", "ghcr.io/runplane/runplane:v1", "localhost:5000/x@" + digest, "a/b/c:1@" + digest} {
		if !IsReference(image) {
			t.Errorf("IsReference(%q) = false, want true", image)
		}
	}
	for _, image := range []string{"", "Busybox", "busybox:", "busybox@", "ghcr.io/runplane/runplane:v1 ", "a//b", "-x", "x:y:z"} {
		if IsReference(image) {
			t.Errorf("IsReference(%q) = true, want false", image)
		}
	}
}

func TestCheckMessage(t *testing.T) {
	t.Parallel()
	a, err := Parse([]string{"docker.io/library/*", "registry.corp/**"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ image, want string }{
		{"evil.io/x:1", `image "evil.io/x:1" is not allowed: allowed images are docker.io/library/*, registry.corp/**`},
		{"", `an empty image is not allowed: allowed images are docker.io/library/*, registry.corp/**`},
		{"Evil Image", `image "Evil Image" is not a valid image reference: allowed images are docker.io/library/*, registry.corp/**`},
		{strings.Repeat("x", 5000), `image "` + strings.Repeat("x", 200) + `"... is not a valid image reference: allowed images are docker.io/library/*, registry.corp/**`},
	}
	for _, tt := range tests {
		if got := a.Check(tt.image); got == nil || got.Error() != tt.want {
			t.Errorf("Check(%.30q) = %v, want %q", tt.image, got, tt.want)
		}
	}
}

func TestEmptyAllowsEverything(t *testing.T) {
	t.Parallel()
	var nilList *Allowlist
	empty, err := Parse(nil)
	if err != nil {
		t.Fatalf("Parse(nil) = %v", err)
	}
	for _, a := range []*Allowlist{nilList, empty} {
		if !a.Empty() || a.Patterns() != nil && len(a.Patterns()) != 0 {
			t.Errorf("%#v: Empty() = %v, Patterns() = %q; want true and none", a, a.Empty(), a.Patterns())
		}
		for _, image := range []string{"", "evil.io/x:1", "not an image"} {
			if err := a.Check(image); err != nil {
				t.Errorf("%#v.Check(%q) = %v, want nil", a, image, err)
			}
		}
	}
	a, err := Parse([]string{"**"})
	if err != nil || a.Empty() {
		t.Errorf("Parse(**) = %v, %v; want a non-empty list", a, err)
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		patterns []string
		want     string
	}{
		{"empty", []string{"docker.io/library/*", ""}, `pattern 2 "": is empty`},
		{"blank", []string{"  "}, "holds whitespace"},
		{"leading space", []string{" docker.io/*"}, "holds whitespace"},
		{"inner space", []string{"docker.io/library/busy box"}, "holds whitespace"},
		{"tab", []string{"docker.io/\t*"}, "holds whitespace"},
		{"newline", []string{"docker.io/*\nevil.io/*"}, "holds whitespace"},
		{"absurd length", []string{strings.Repeat("a", MaxPatternLen+1)}, "longer than 512"},
		{"too many", make([]string, MaxPatterns+1), "at most 1000"},
		{"three stars", []string{"registry.corp/***"}, "three '*'"},
		{"comma", []string{"docker.io/a,docker.io/b"}, `holds ','`},
		{"quote", []string{`docker.io/"x"`}, `holds '"'`},
		{"backslash", []string{`docker.io\x`}, `holds '\\'`},
		{"non-ascii", []string{"dockér.io/x"}, `holds 'é'`},
		{"control", []string{"docker.io/\x00"}, `holds '\x00'`},
		{"at before slash", []string{"a@sha256:x/b"}, "'@'"},
		{"two ats", []string{"a@b@c"}, "'@'"},
		{"empty digest", []string{"registry.corp/x@"}, "ends with '@'"},
		{"empty tag", []string{"registry.corp/x:"}, "empty tag"},
		{"leading slash", []string{"/x"}, "empty repository path component"},
		{"trailing slash", []string{"registry.corp/"}, "empty repository path component"},
		{"double slash", []string{"registry.corp//x"}, "empty repository path component"},
		{"only tag", []string{":1"}, "empty repository path component"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, err := Parse(tt.patterns)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse(%.40q) = %v, %v; want an error containing %q", tt.patterns, a, err, tt.want)
			}
			if err != nil && len(err.Error()) > 400 {
				t.Errorf("Parse error is %d bytes long; want the pattern cut short", len(err.Error()))
			}
		})
	}
}

func TestPatternsAsWritten(t *testing.T) {
	t.Parallel()
	in := []string{"docker.io/library/*", "registry.corp/**@sha256:*"}
	a, err := Parse(in)
	if err != nil {
		t.Fatal(err)
	}
	got := a.Patterns()
	if diff := cmp.Diff(in, got); diff != "" {
		t.Errorf("Patterns() (-want +got):\n%s", diff)
	}
	got[0] = "changed"
	if a.Patterns()[0] != in[0] {
		t.Errorf("Patterns() returned the allowlist's own slice")
	}
}

// FuzzCheck checks that no pattern or image makes Parse or Check panic, that Check is deterministic, and that a
// refusal always wraps ErrNotAllowed and names the image.
func FuzzCheck(f *testing.F) {
	for _, tt := range checkTests {
		f.Add(strings.Join(tt.patterns, ","), tt.image)
	}
	f.Add("**", "a@"+digest)
	f.Add("*:*@*", "x:y@sha256:"+strings.Repeat("0", 64))
	f.Add("[::1]/*", "[::1]/a")
	f.Fuzz(func(t *testing.T, patterns, image string) {
		list := strings.Split(patterns, ",")
		a, err := Parse(list)
		if err != nil || len(list) == MaxPatterns {
			return
		}
		first := a.Check(image)
		for range 2 {
			if again := a.Check(image); (again == nil) != (first == nil) || (again != nil && again.Error() != first.Error()) {
				t.Fatalf("Check(%q) = %v, then %v", image, first, again)
			}
		}
		if first != nil {
			var na *NotAllowedError
			if !errors.Is(first, ErrNotAllowed) || !errors.As(first, &na) || na.Image != image {
				t.Fatalf("Check(%q) = %#v, want a *NotAllowedError for the image", image, first)
			}
		}
		// ** allows every valid reference, and a list holding it allows what any other list allows.
		all, err := Parse(append(list, "**"))
		if err != nil {
			t.Fatalf("Parse with ** added = %v", err)
		}
		if first == nil && all.Check(image) != nil {
			t.Fatalf("Check(%q) allowed by %q but not once ** is added", image, patterns)
		}
		if _, ok := parseReference(image); ok && all.Check(image) != nil {
			t.Fatalf("Check(%q) with ** = %v, want allowed", image, all.Check(image))
		}
	})
}
