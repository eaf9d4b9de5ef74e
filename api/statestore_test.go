package api

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDestinationValidate(t *testing.T) {
	good := func() Destination {
		return Destination{Name: "dev", Labels: map[string]string{"env": "dev"},
			StateStoreRef: StateStoreRef{Kind: KindGitStateStore, Name: "default"}}
	}
	tests := []struct {
		name   string
		change func(*Destination)
		want   string // "" for valid; else a part of the message
	}{
		{"minimal", func(*Destination) {}, ""},
		{"root dot", func(d *Destination) { d.Path = "." }, ""},
		{"root slash", func(d *Destination) { d.Path = "/" }, ""},
		{"aggregated with file", func(d *Destination) {
			d.Filepath = DestinationFilepath{Mode: FilepathAggregatedYAML, Filename: "c.yaml"}
		}, ""},
		{"none mode", func(d *Destination) { d.Filepath.Mode = FilepathNone }, ""},
		{"no name", func(d *Destination) { d.Name = "" }, "name is required"},
		{"path escapes", func(d *Destination) { d.Path = "a/../../x" }, `".." would leave the state store`},
		{"path dotdot", func(d *Destination) { d.Path = ".." }, `".." would leave`},
		{"path control", func(d *Destination) { d.Path = "a\x00b" }, "control characters"},
		{"unknown mode", func(d *Destination) { d.Filepath.Mode = "flat" }, `filepath.mode "flat": want nestedByMetadata, aggregatedYAML or none`},
		{"filename without aggregated", func(d *Destination) { d.Filepath.Filename = "x.yaml" }, "filepath.filename is only for mode aggregatedYAML"},
		{"filename with dir", func(d *Destination) {
			d.Filepath = DestinationFilepath{Mode: FilepathAggregatedYAML, Filename: "a/b.yaml"}
		}, "without directories"},
		{"bad cleanup", func(d *Destination) { d.Cleanup = "some" }, `cleanup "some": want none or all`},
		{"no store kind", func(d *Destination) { d.StateStoreRef.Kind = "" }, "stateStoreRef.kind is required"},
		{"bucket", func(d *Destination) { d.StateStoreRef.Kind = "BucketStateStore" }, "BucketStateStore is not supported"},
		{"unknown store kind", func(d *Destination) { d.StateStoreRef.Kind = "S3" }, `stateStoreRef.kind "S3"`},
		{"no store name", func(d *Destination) { d.StateStoreRef.Name = "" }, "stateStoreRef.name is required"},
		{"bad label key", func(d *Destination) { d.Labels = map[string]string{"-x": "y"} }, `labels: key "-x"`},
		{"bad label value", func(d *Destination) { d.Labels = map[string]string{"x": "a b"} }, "labels.x: value"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := good()
			tc.change(&d)
			err := d.Validate()
			checkInvalid(t, "Destination.Validate", err, tc.want)
		})
	}
}

func checkInvalid(t *testing.T, what string, err error, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("%s = %v, want nil", what, err)
		}
		return
	}
	var ie *InvalidError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), want) {
		t.Fatalf("%s = %v, want an *InvalidError containing %q", what, err, want)
	}
}

func TestDestinationDefaultAndDir(t *testing.T) {
	tests := []struct {
		name    string
		d       Destination
		wantDir string
		want    Destination
	}{
		{"name is the path", Destination{Name: "dev"}, "dev",
			Destination{Name: "dev", Path: "dev", Filepath: DestinationFilepath{Mode: FilepathNestedByMetadata}, Cleanup: CleanupNone}},
		{"dot is root", Destination{Name: "dev", Path: "."}, "",
			Destination{Name: "dev", Path: ".", Filepath: DestinationFilepath{Mode: FilepathNestedByMetadata}, Cleanup: CleanupNone}},
		{"slash is root", Destination{Name: "dev", Path: "/"}, "", Destination{Name: "dev", Path: "/",
			Filepath: DestinationFilepath{Mode: FilepathNestedByMetadata}, Cleanup: CleanupNone}},
		{"nested cleaned", Destination{Name: "dev", Path: "/clusters//dev/"}, "clusters/dev", Destination{Name: "dev",
			Path: "/clusters//dev/", Filepath: DestinationFilepath{Mode: FilepathNestedByMetadata}, Cleanup: CleanupNone}},
		{"aggregated file", Destination{Name: "a", Filepath: DestinationFilepath{Mode: FilepathAggregatedYAML}}, "a",
			Destination{Name: "a", Path: "a", Filepath: DestinationFilepath{Mode: FilepathAggregatedYAML, Filename: "aggregated.yaml"}, Cleanup: CleanupNone}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := tc.d
			d.Default()
			if diff := cmp.Diff(tc.want, d); diff != "" {
				t.Errorf("Default() (-want +got):\n%s", diff)
			}
			if got := d.Dir(); got != tc.wantDir {
				t.Errorf("Dir() = %q, want %q", got, tc.wantDir)
			}
		})
	}
}

func TestStateStoreValidate(t *testing.T) {
	git := func() StateStore {
		return StateStore{Kind: KindGitStateStore, Name: "default", URL: "https://git.example.com/platform/state.git"}
	}
	dir := func() StateStore {
		return StateStore{Kind: KindDirectoryStateStore, Name: "local", Path: "/var/lib/state"}
	}
	key := "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n"
	tests := []struct {
		name string
		s    func() StateStore
		want string
	}{
		{"git minimal", git, ""},
		{"git full", func() StateStore {
			s := git()
			s.Path, s.Branch, s.GitAuthor = "platform", "dev", GitAuthor{Name: "Platform", Email: "p@example.com"}
			s.SecretRef = &SecretReference{Name: "git-creds", Namespace: "default"}
			s.Credentials = &GitCredentials{Username: "bot", Password: "pw"}
			return s
		}, ""},
		{"git ssh", func() StateStore {
			s := git()
			s.URL, s.AuthMethod, s.Credentials = "ssh://git@example.com/state.git", AuthSSH, &GitCredentials{SSHPrivateKey: key}
			return s
		}, ""},
		{"directory", dir, ""},
		{"no kind", func() StateStore { s := git(); s.Kind = ""; return s }, "kind is required"},
		{"bucket", func() StateStore { s := git(); s.Kind = "BucketStateStore"; return s }, "BucketStateStore is not supported"},
		{"git no url", func() StateStore { s := git(); s.URL = ""; return s }, "url is required"},
		{"git url creds", func() StateStore { s := git(); s.URL = "https://u:p@example.com/x.git"; return s }, "url must not carry credentials"},
		{"git url scheme", func() StateStore { s := git(); s.URL = "ftp://example.com/x"; return s }, "url \"ftp://example.com/x\""},
		{"git path escapes", func() StateStore { s := git(); s.Path = "a/../.."; return s }, `".." would leave`},
		{"git bad branch", func() StateStore { s := git(); s.Branch = "a..b"; return s }, "branch"},
		{"git github app", func() StateStore { s := git(); s.AuthMethod = "githubApp"; return s }, "githubApp is not supported"},
		{"git bad method", func() StateStore { s := git(); s.AuthMethod = "kerberos"; return s }, `authMethod "kerberos"`},
		{"git bad secret", func() StateStore { s := git(); s.SecretRef = &SecretReference{Name: "Bad_Name"}; return s }, "secretRef.name"},
		{"git password and token", func() StateStore {
			s := git()
			s.Credentials = &GitCredentials{Password: "a", Token: "b"}
			return s
		}, "a password or a token, not both"},
		{"git ssh with password", func() StateStore {
			s := git()
			s.AuthMethod, s.Credentials = AuthSSH, &GitCredentials{Password: "a"}
			return s
		}, "authMethod ssh takes sshPrivateKey"},
		{"git ssh bad key", func() StateStore {
			s := git()
			s.AuthMethod, s.Credentials = AuthSSH, &GitCredentials{SSHPrivateKey: "hello"}
			return s
		}, "want a PEM or OpenSSH private key"},
		{"git key without ssh", func() StateStore { s := git(); s.Credentials = &GitCredentials{SSHPrivateKey: key}; return s }, "need authMethod ssh"},
		{"git bad email", func() StateStore { s := git(); s.GitAuthor.Email = "not an address"; return s }, "gitAuthor.email"},
		{"git bad author", func() StateStore { s := git(); s.GitAuthor.Name = "a <b>"; return s }, "gitAuthor.name"},
		{"dir relative", func() StateStore { s := dir(); s.Path = "state"; return s }, "want an absolute directory"},
		{"dir no path", func() StateStore { s := dir(); s.Path = ""; return s }, "path is required"},
		{"dir with url", func() StateStore { s := dir(); s.URL = "https://x/y"; return s }, "a DirectoryStateStore has only a path"},
		{"dir escapes", func() StateStore { s := dir(); s.Path = "/var/../etc"; return s }, `".." would leave`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.s()
			checkInvalid(t, "StateStore.Validate", s.Validate(), tc.want)
		})
	}
}

func TestStateStoreMaskAndMerge(t *testing.T) {
	stored := StateStore{Kind: KindGitStateStore, Name: "s", URL: "https://x/y.git",
		Credentials: &GitCredentials{Username: "bot", Password: "hunter2", SSHPrivateKey: ""}}
	m := stored.Masked()
	if m.Credentials.Password != Mask || m.Credentials.Username != "bot" {
		t.Fatalf("Masked().Credentials = %+v, want the password masked and the username kept", m.Credentials)
	}
	if stored.Credentials.Password != "hunter2" {
		t.Fatalf("Masked changed the original: %+v", stored.Credentials)
	}
	b, _ := json.Marshal(m)
	if strings.Contains(string(b), "hunter2") {
		t.Fatalf("masked JSON %s carries the password", b)
	}
	tests := []struct {
		name string
		in   *GitCredentials
		want *GitCredentials
	}{
		{"mask keeps", &GitCredentials{Username: "bot", Password: Mask}, &GitCredentials{Username: "bot", Password: "hunter2"}},
		{"empty deletes", &GitCredentials{Username: "bot", Password: ""}, &GitCredentials{Username: "bot"}},
		{"new value", &GitCredentials{Username: "bot", Password: "new"}, &GitCredentials{Username: "bot", Password: "new"}},
		{"none given", nil, nil},
		{"all empty", &GitCredentials{}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := stored
			in.Credentials = tc.in
			got := in.MergeCredentials(stored)
			if diff := cmp.Diff(tc.want, got.Credentials); diff != "" {
				t.Errorf("MergeCredentials (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeManifests(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want any
		err  string
	}{
		{"kratix destination", `{"apiVersion":"platform.kratix.io/v1alpha1","kind":"Destination",
			"metadata":{"name":"worker-1","labels":{"environment":"dev"},"annotations":{"a":"b"}},
			"spec":{"path":"worker-1","stateStoreRef":{"name":"default","kind":"GitStateStore"},"filepath":{"mode":"none"}},
			"status":{"conditions":[]}}`,
			Destination{Name: "worker-1", Labels: map[string]string{"environment": "dev"}, Path: "worker-1",
				StateStoreRef: StateStoreRef{Kind: KindGitStateStore, Name: "default"}, Filepath: DestinationFilepath{Mode: FilepathNone}}, ""},
		{"kratix git store", `{"apiVersion":"platform.kratix.io/v1alpha1","kind":"GitStateStore","metadata":{"name":"default"},
			"spec":{"secretRef":{"name":"gitea-credentials","namespace":"default"},"url":"https://172.18.0.2:31333/gitea_admin/kratix","branch":"main"}}`,
			StateStore{Kind: KindGitStateStore, Name: "default", URL: "https://172.18.0.2:31333/gitea_admin/kratix", Branch: "main",
				SecretRef: &SecretReference{Name: "gitea-credentials", Namespace: "default"}}, ""},
		{"runplane directory store", `{"apiVersion":"platform.runplane.dev/v1alpha1","kind":"DirectoryStateStore","metadata":{"name":"local"},"spec":{"path":"/srv/state"}}`,
			StateStore{Kind: KindDirectoryStateStore, Name: "local", Path: "/srv/state"}, ""},
		{"directory under kratix", `{"apiVersion":"platform.kratix.io/v1alpha1","kind":"DirectoryStateStore","metadata":{"name":"local"},"spec":{"path":"/srv/state"}}`,
			nil, "DirectoryStateStore is runplane's kind"},
		{"no api version", `{"kind":"Destination","metadata":{"name":"x"},"spec":{}}`, nil, "apiVersion is required"},
		{"other api version", `{"apiVersion":"v1","kind":"Destination","metadata":{"name":"x"},"spec":{}}`, nil, `apiVersion "v1"`},
		{"no name", `{"apiVersion":"platform.kratix.io/v1alpha1","kind":"Destination","metadata":{},"spec":{}}`, nil, "metadata.name is required"},
		{"unknown spec field", `{"apiVersion":"platform.kratix.io/v1alpha1","kind":"Destination","metadata":{"name":"x"},
			"spec":{"stateStoreRef":{"name":"d","kind":"GitStateStore"},"filepathMode":"none"}}`, nil, `unknown field "filepathMode"`},
		{"bad mode", `{"apiVersion":"platform.kratix.io/v1alpha1","kind":"Destination","metadata":{"name":"x"},
			"spec":{"stateStoreRef":{"name":"d","kind":"GitStateStore"},"filepath":{"mode":"flat"}}}`, nil, `Destination x: filepath.mode "flat"`},
		{"bucket store", `{"apiVersion":"platform.kratix.io/v1alpha1","kind":"BucketStateStore","metadata":{"name":"x"},"spec":{}}`,
			nil, `kind "BucketStateStore"`},
		{"not an object", `[1]`, nil, "not a manifest"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got any
			var err error
			if strings.Contains(tc.doc, `"kind":"Destination"`) {
				got, err = DecodeDestinationManifest([]byte(tc.doc))
			} else {
				got, err = DecodeStateStoreManifest([]byte(tc.doc))
			}
			checkInvalid(t, "Decode", err, tc.err)
			if tc.err == "" {
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("Decode (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func FuzzDecodeStateStoreManifests(f *testing.F) {
	f.Add(`{"apiVersion":"platform.kratix.io/v1alpha1","kind":"Destination","metadata":{"name":"w","labels":{"a":"b"}},"spec":{"path":"../x","stateStoreRef":{"name":"d","kind":"GitStateStore"}}}`)
	f.Add(`{"apiVersion":"platform.kratix.io/v1alpha1","kind":"GitStateStore","metadata":{"name":"d"},"spec":{"url":"https://x/y","credentials":{"password":"p"}}}`)
	f.Add(`{"apiVersion":"platform.runplane.dev/v1alpha1","kind":"DirectoryStateStore","metadata":{"name":"d"},"spec":{"path":"/a"}}`)
	f.Fuzz(func(t *testing.T, doc string) {
		if d, err := DecodeDestinationManifest([]byte(doc)); err == nil {
			if err := d.Validate(); err != nil {
				t.Fatalf("decoded destination does not validate: %v", err)
			}
			if dir := d.Dir(); strings.HasPrefix(dir, "..") || strings.HasPrefix(dir, "/") {
				t.Fatalf("Dir() = %q escapes the store", dir)
			}
		} else {
			var ie *InvalidError
			if !errors.As(err, &ie) {
				t.Fatalf("error %v is not an *InvalidError", err)
			}
		}
		if s, err := DecodeStateStoreManifest([]byte(doc)); err == nil {
			if err := s.Validate(); err != nil {
				t.Fatalf("decoded store does not validate: %v", err)
			}
			if c := s.Credentials; c != nil {
				b, _ := json.Marshal(s.Masked())
				for _, v := range []string{c.Password, c.Token, c.SSHPrivateKey} {
					if len(v) > 3 && v != Mask && strings.Contains(string(b), v) {
						t.Fatalf("masked store %s shows a credential", b)
					}
				}
			}
		}
	})
}
