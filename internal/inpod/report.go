package inpod

import (
	"encoding/base64"
	"net/url"
	"os"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/runplane/runplane/internal/gitsource"
)

// maxTerminationLog keeps a termination message under the 4096 bytes Kubernetes keeps of it.
const maxTerminationLog = 4000

func terminationLogPath(getenv func(string) string) string {
	if p := getenv(EnvTerminationLog); p != "" {
		return p
	}
	return DefaultTerminationLog
}

// writeTerminationLog replaces the termination message with msg, cut to maxTerminationLog bytes. It is best
// effort: a container without a termination log still ends with the right exit code.
func writeTerminationLog(path, msg string) {
	if len(msg) > maxTerminationLog {
		cut := maxTerminationLog
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = msg[:cut]
	}
	_ = os.WriteFile(path, []byte(msg), 0o644)
}

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
