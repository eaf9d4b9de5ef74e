package gitsource

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const (
	probeTimeout     = 30 * time.Second
	maxAdvertisement = 8 << 20
	maxPktLine       = 65520
	advertisementCT  = "application/x-git-upload-pack-advertisement"
)

// newProbeClient returns the client of HTTP probes, shared by all of a Cache's probes so that a probe of a busy
// host is one request on a warm connection. It never follows redirects (git may; the fetch will).
func newProbeClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 16
	return &http.Client{
		Transport:     tr,
		Timeout:       probeTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// httpBase returns an http(s) URL without user info, query or fragment, as the prefix of the smart HTTP
// endpoints; ok is false for other URLs.
func httpBase(u string) (string, bool) {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || p.Opaque != "" ||
		p.RawQuery != "" || p.ForceQuery || p.Fragment != "" {
		return "", false
	}
	return p.Scheme + "://" + p.Host + p.EscapedPath(), true
}

// probeHTTP reads the protocol v0 ref advertisement of the smart HTTP server at base (one GET; no Git-Protocol
// header, so every smart server answers the same way) and returns the commit ref is at. It authenticates as git
// would: with the token as basic auth password of TokenUser, else with the URL's user info.
func (c *Cache) probeHTTP(ctx context.Context, base, rawURL, token, ref string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		strings.TrimSuffix(base, "/")+"/info/refs?service=git-upload-pack", nil)
	if err != nil {
		return "", errNoProbe
	}
	req.Header.Set("User-Agent", "git/2 (runplane)")
	req.Header.Set("Accept", "*/*")
	req.Header.Set("Pragma", "no-cache") // a cached advertisement would defeat the probe
	req.Header.Set("Cache-Control", "no-cache")
	if token != "" {
		req.Header.Set("Authorization", basicAuth(token))
	} else if p, err := url.Parse(rawURL); err == nil && p.User != nil {
		pw, _ := p.User.Password()
		req.SetBasicAuth(p.User.Username(), pw)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		// The request URL holds no credentials; the error may still say why a connection failed.
		return "", fmt.Errorf("probe: %w", err)
	}
	defer resp.Body.Close()
	body := io.LimitReader(resp.Body, maxAdvertisement)
	defer io.Copy(io.Discard, body) // read to EOF so the connection is reused
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("probe: status %d", resp.StatusCode)
	}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || mt != advertisementCT {
		return "", fmt.Errorf("probe: content type %q", resp.Header.Get("Content-Type"))
	}
	oid, err := parseAdvertisement(body, ref)
	if err != nil {
		return "", fmt.Errorf("probe: %w", err)
	}
	return oid, nil
}

// parseAdvertisement reads a smart HTTP upload-pack ref advertisement, protocol v0 or v1:
//
//	pkt("# service=git-upload-pack\n") [more header pkts] flush
//	[pkt("version 1\n")]
//	pkt("<oid> <ref>\x00<capabilities>\n") *pkt("<oid> <ref>\n") *pkt("shallow <oid>\n") flush
//
// and returns the object id ref is at, or errRefNotFound. It reads the whole advertisement (so a truncated one
// is an error) and refuses one that names ref twice.
func parseAdvertisement(r io.Reader, ref string) (string, error) {
	pr := pktReader{r: bufio.NewReader(r)}
	line, err := pr.next()
	if err != nil {
		return "", err
	}
	if line == nil || strings.TrimSuffix(string(line), "\n") != "# service=git-upload-pack" {
		return "", errors.New("advertisement: no service line")
	}
	for line != nil { // header lines up to a flush, as git skips them
		if line, err = pr.next(); err != nil {
			return "", err
		}
	}
	found, first := "", true // the first ref line carries the capabilities
	for {
		line, err := pr.next()
		if err != nil {
			return "", err
		}
		if line == nil {
			break
		}
		line = bytes.TrimSuffix(line, []byte{'\n'})
		if first {
			if string(line) == "version 1" {
				continue
			}
			if bytes.HasPrefix(line, []byte("version ")) {
				return "", fmt.Errorf("advertisement: unsupported %q", line)
			}
			line, _, _ = bytes.Cut(line, []byte{0})
			first = false
		}
		if oid, ok := bytes.CutPrefix(line, []byte("shallow ")); ok && isHex(string(oid)) {
			continue
		}
		oid, name, ok := bytes.Cut(line, []byte{' '})
		if !ok || !isHex(string(oid)) || len(name) == 0 {
			return "", errors.New("advertisement: malformed ref line")
		}
		if string(name) == ref {
			if found != "" {
				return "", fmt.Errorf("advertisement: %s advertised twice", ref)
			}
			found = string(oid)
		}
	}
	if _, err := pr.r.ReadByte(); err != io.EOF {
		return "", errors.New("advertisement: data after the final flush")
	}
	if found == "" {
		return "", errRefNotFound
	}
	return found, nil
}

// pktReader reads git pkt-lines: a 4-digit hex length that counts itself, then data; "0000" is a flush.
type pktReader struct {
	r   *bufio.Reader
	buf []byte
}

// next returns the next pkt-line's data (valid until the next call), or nil for a flush.
func (p *pktReader) next() ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(p.r, hdr[:]); err != nil {
		return nil, fmt.Errorf("advertisement: truncated: %w", err)
	}
	for _, b := range hdr {
		if !(b >= '0' && b <= '9' || b >= 'a' && b <= 'f' || b >= 'A' && b <= 'F') {
			return nil, errors.New("advertisement: bad pkt-line length")
		}
	}
	n, _ := strconv.ParseUint(string(hdr[:]), 16, 16)
	switch {
	case n == 0:
		return nil, nil
	case n < 4 || n > maxPktLine: // 0001-0003 are protocol v2 markers
		return nil, fmt.Errorf("advertisement: pkt-line length %d", n)
	}
	if p.buf == nil || cap(p.buf) < int(n-4) { // never nil: nil means flush
		p.buf = make([]byte, max(n-4, 512))
	}
	data := p.buf[:n-4]
	if _, err := io.ReadFull(p.r, data); err != nil {
		return nil, fmt.Errorf("advertisement: truncated: %w", err)
	}
	return data, nil
}
