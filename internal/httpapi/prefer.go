package httpapi

import (
	"strconv"
	"strings"
	"time"

	"github.com/runplane/runplane/api"
)

// apiPrefix is where the REST API lives.
const apiPrefix = "/api/v1"

// preference is what a request's Prefer headers (RFC 7240) ask of a job submission.
type preference struct {
	async bool          // respond-async: answer 202 rather than wait for the job
	wait  time.Duration // wait=N (seconds) with respond-async: wait this long first, at most api.MaxSyncTimeout
}

// maxPreferLen bounds the Prefer headers a request may send.
const maxPreferLen = 1024

// parsePrefer reads Prefer header values: comma-separated preferences, each a token with an optional =value and
// ;parameters, case-insensitive names (RFC 7240 §2). Preferences it does not know are ignored, as the RFC asks;
// a wait that is not a number of seconds is a 400, since a client that sent it expects it to count.
func parsePrefer(values []string) (preference, error) {
	var p preference
	n := 0
	for _, v := range values {
		n += len(v)
		if n > maxPreferLen {
			return preference{}, api.Invalidf("Prefer header longer than %d bytes", maxPreferLen)
		}
		for _, item := range strings.Split(v, ",") {
			tok, _, _ := strings.Cut(item, ";") // parameters of a preference: none we use
			name, val, hasVal := strings.Cut(strings.TrimSpace(tok), "=")
			name, val = strings.ToLower(strings.TrimSpace(name)), strings.Trim(strings.TrimSpace(val), `"`)
			switch name {
			case "respond-async":
				p.async = true
			case "wait":
				if !hasVal {
					return preference{}, api.Invalidf("Prefer: wait needs a number of seconds")
				}
				secs, err := strconv.ParseUint(val, 10, 32)
				if err != nil {
					return preference{}, api.Invalidf("Prefer: wait=%q: want a number of seconds", val)
				}
				p.wait = min(time.Duration(secs)*time.Second, api.MaxSyncTimeout)
			}
		}
	}
	return p, nil
}
