package helmchart

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/registry"
	repo "helm.sh/helm/v4/pkg/repo/v1"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/errcode"
	"sigs.k8s.io/yaml"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/platform/chart"
)

// Errors a fetch can end in, besides the transport's.
var (
	// ErrUnauthorized: the source refused the credentials (or asked for some and none were given).
	ErrUnauthorized = errors.New("helmchart: unauthorized")
	// ErrNotFound: no such chart, or no such version of it.
	ErrNotFound = errors.New("helmchart: chart not found")
)

// MaxChartBytes bounds a chart package and an index.yaml.
const MaxChartBytes = 20 << 20

// Password resolves the password a definition's credentials name (passwordRef) in namespace, the definition's.
type Password func(ctx context.Context, ref api.SecretKeySelector, namespace string) (string, error)

// Fetcher fetches charts. The zero value works: no credentials can be resolved, a 2-minute timeout.
type Fetcher struct {
	// Password resolves credentials; nil refuses a definition that names some.
	Password Password
	// Timeout bounds one fetch; 0 means 2 minutes.
	Timeout time.Duration
	// PlainHTTP lets oci:// references be pulled over http. A registry on loopback (localhost, 127.0.0.1, ::1)
	// is always reached over http, as Docker and Helm treat local registries.
	PlainHTTP bool
}

// Fetch reads the chart c names. Its errors never carry the password.
func (f Fetcher) Fetch(ctx context.Context, c api.ChartInfo, namespace string) (chart.Package, error) {
	kind, err := chart.SourceOf(c.URL)
	if err != nil {
		return chart.Package{}, err
	}
	timeout := f.Timeout
	if timeout == 0 {
		timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var user, pass string
	if cr := c.Credentials; cr != nil {
		if f.Password == nil {
			return chart.Package{}, fmt.Errorf("chart %s: credentials cannot be resolved here", c.URL)
		}
		if pass, err = f.Password(ctx, cr.PasswordRef, namespace); err != nil {
			return chart.Package{}, fmt.Errorf("chart %s: password %s/%s: %w", c.URL, cr.PasswordRef.Name, cr.PasswordRef.Key, err)
		}
		user = cr.Username
	}
	hc := &http.Client{Timeout: timeout, Transport: transport(c.InsecureSkipVerifyTLS)}
	var archive []byte
	var pkgURL string
	switch kind {
	case chart.SourceOCI:
		archive, pkgURL, err = f.pullOCI(hc, c, user, pass)
	case chart.SourceRepo:
		archive, pkgURL, err = fetchFromRepo(ctx, hc, c, user, pass)
	case chart.SourceTGZ:
		pkgURL = c.URL
		archive, err = get(ctx, hc, c.URL, user, pass)
	}
	if err != nil {
		return chart.Package{}, scrub(err, pass)
	}
	return load(archive, pkgURL)
}

// Load reads a packaged chart (.tgz) into a Package.
func load(archive []byte, pkgURL string) (chart.Package, error) {
	ch, err := loader.LoadArchive(bytes.NewReader(archive))
	if err != nil {
		return chart.Package{}, fmt.Errorf("chart %s: %w", pkgURL, err)
	}
	sum := sha256.Sum256(archive)
	return chart.Package{Name: ch.Metadata.Name, Version: ch.Metadata.Version, Schema: ch.Schema, URL: pkgURL,
		Digest: "sha256:" + hex.EncodeToString(sum[:]), Archive: archive}, nil
}

// pullOCI pulls oci://host/path[/repo]:version with the registry client of the Helm SDK, authenticating only with
// what the definition names.
func (f Fetcher) pullOCI(hc *http.Client, c api.ChartInfo, user, pass string) ([]byte, string, error) {
	ref := strings.TrimSuffix(strings.TrimPrefix(c.URL, "oci://"), "/")
	if c.Repo != "" {
		ref += "/" + c.Repo
	}
	if !strings.Contains(path.Base(ref), ":") {
		ref += ":" + c.Version
	}
	authz := &auth.Client{Client: hc, Credential: auth.StaticCredential("", auth.EmptyCredential)}
	if user != "" || pass != "" {
		host, _, _ := strings.Cut(ref, "/")
		authz.Credential = auth.StaticCredential(host, auth.Credential{Username: user, Password: pass})
	}
	opts := []registry.ClientOption{registry.ClientOptHTTPClient(hc), registry.ClientOptAuthorizer(*authz),
		registry.ClientOptCredentialsFile(noCredentialsFile)}
	if f.PlainHTTP || loopback(ref) {
		opts = append(opts, registry.ClientOptPlainHTTP())
	}
	client, err := registry.NewClient(opts...)
	if err != nil {
		return nil, "", fmt.Errorf("chart oci://%s: %w", ref, err)
	}
	res, err := client.Pull(ref)
	if err != nil {
		// By the errors' types, not their text: the text holds the registry's address, whose port may read 401.
		var resp *errcode.ErrorResponse
		status := 0
		if errors.As(err, &resp) {
			status = resp.StatusCode
		}
		switch {
		case status == http.StatusUnauthorized || status == http.StatusForbidden ||
			errors.Is(err, auth.ErrBasicCredentialNotFound): // the registry asked for credentials and none were given
			return nil, "", fmt.Errorf("chart oci://%s: %w", ref, ErrUnauthorized)
		case status == http.StatusNotFound || errors.Is(err, errdef.ErrNotFound):
			return nil, "", fmt.Errorf("chart oci://%s: %w", ref, ErrNotFound)
		}
		return nil, "", fmt.Errorf("chart oci://%s: %w", ref, err)
	}
	return res.Chart.Data, "oci://" + ref, nil
}

// loopback reports whether an OCI reference's host is the local machine.
func loopback(ref string) bool {
	host, _, _ := strings.Cut(ref, "/")
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// noCredentialsFile is a path that holds no file, so the registry client never reads the process's own helm
// registry configuration (the authorizer given decides every credential anyway).
const noCredentialsFile = "/nonexistent/runplane/helm-registry-config.json"

// fetchFromRepo reads the repository's index.yaml, finds the chart at exactly the version asked for, and
// downloads it; the credentials go to the repository's host only (Helm's default, passCredentialsAll false).
func fetchFromRepo(ctx context.Context, hc *http.Client, c api.ChartInfo, user, pass string) ([]byte, string, error) {
	base := strings.TrimSuffix(c.URL, "/")
	b, err := get(ctx, hc, base+"/index.yaml", user, pass)
	if err != nil {
		return nil, "", err
	}
	var idx repo.IndexFile
	if err := yaml.Unmarshal(b, &idx); err != nil {
		return nil, "", fmt.Errorf("%s/index.yaml: %w", base, err)
	}
	idx.SortEntries()
	cv, err := idx.Get(c.Repo, c.Version)
	if err != nil || cv.Version != c.Version || len(cv.URLs) == 0 {
		return nil, "", fmt.Errorf("chart %s version %s in %s: %w", c.Repo, c.Version, base, ErrNotFound)
	}
	u, err := repo.ResolveReferenceURL(base, cv.URLs[0])
	if err != nil {
		return nil, "", err
	}
	bu, _ := url.Parse(base)
	pu, err := url.Parse(u)
	if err != nil {
		return nil, "", err
	}
	if pu.Host != bu.Host {
		user, pass = "", "" // never send the repository's credentials to another host
	}
	archive, err := get(ctx, hc, u, user, pass)
	return archive, u, err
}

// get downloads u (bounded), with basic auth when a user or password is given.
func get(ctx context.Context, hc *http.Client, u, user, pass string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	if user != "" || pass != "" {
		req.SetBasicAuth(user, pass)
	}
	req.Header.Set("User-Agent", "runplane")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", u, unwrapURLError(err))
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return nil, fmt.Errorf("get %s: %s: %w", u, resp.Status, ErrUnauthorized)
	case resp.StatusCode == http.StatusNotFound:
		return nil, fmt.Errorf("get %s: %s: %w", u, resp.Status, ErrNotFound)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("get %s: %s", u, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxChartBytes+1))
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", u, err)
	}
	if len(b) > MaxChartBytes {
		return nil, fmt.Errorf("get %s: larger than %d bytes", u, MaxChartBytes)
	}
	return b, nil
}

// unwrapURLError drops *url.Error's own copy of the URL (the caller names it once).
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func transport(insecure bool) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil // loopback and private registries: no ambient proxy sees the credentials
	if insecure {
		t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the definition asked for it (insecureSkipVerifyTLS)
	}
	return t
}

// scrub replaces the password wherever an error from a library might have put it.
func scrub(err error, pass string) error {
	if err == nil || pass == "" || !strings.Contains(err.Error(), pass) {
		return err
	}
	return &scrubbed{msg: strings.ReplaceAll(err.Error(), pass, "************"), err: err}
}

type scrubbed struct {
	msg string
	err error
}

func (s *scrubbed) Error() string { return s.msg }

// Is keeps errors.Is working on the kinds of failure without unwrapping to the unscrubbed text.
func (s *scrubbed) Is(target error) bool { return errors.Is(s.err, target) }
