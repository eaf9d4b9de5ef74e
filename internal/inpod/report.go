package inpod

import (
	"encoding/base64"
	"net/url"
	"regexp"
	"strings"

	"github.com/runplane/runplane/internal/gitsource"
)

var userinfoRE = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]*@`)

// redact removes from s the token, in every form a message may quote it (plain, URL-escaped, inside a basic
// auth header), and the user info of any URL.
func redact(s, token string) string {
	if token != "" {
		forms := []string{
			token,
			url.QueryEscape(token),
			url.PathEscape(token),
			base64.StdEncoding.EncodeToString([]byte(gitsource.TokenUser + ":" + token)),
		}
		for _, f := range forms {
			s = strings.ReplaceAll(s, f, "[redacted]")
		}
	}
	return userinfoRE.ReplaceAllString(s, "$1")
}

// redactURL is gitsource.RedactURL: a URL for messages, without user info.
func redactURL(u string) string { return gitsource.RedactURL(u) }
