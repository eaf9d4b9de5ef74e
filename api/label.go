package api

import (
	"unicode"
	"unicode/utf8"
)

// checkVisible refuses text whose look can differ from its bytes: invalid UTF-8 (and U+FFFD, what a JSON
// decoder leaves of it), control characters (C0 and C1), format characters (unicode.Cf: bidirectional overrides
// and isolates such as U+202E, zero-width spaces and joiners, the byte order mark, soft hyphens), line and
// paragraph separators and private-use characters. Two names that look the same, or a name that shows reversed,
// would make an audit log or a role binding say something else than it means.
//
// Unicode normalization is not checked here (api uses the standard library only, which has no NFC tables): the
// server normalizes names to NFC before it validates and stores them.
func checkVisible(what, s string) error {
	for i, c := range s {
		switch {
		case c == utf8.RuneError:
			return Invalidf("%s is not valid UTF-8 (byte %d)", what, i)
		case unicode.Is(unicode.Cc, c):
			return Invalidf("%s must not contain control characters", what)
		case unicode.Is(unicode.Cf, c), unicode.Is(unicode.Zl, c), unicode.Is(unicode.Zp, c):
			return Invalidf("%s must not contain invisible or direction-changing characters (%U at byte %d)", what, c, i)
		case unicode.Is(unicode.Co, c):
			return Invalidf("%s must not contain private-use characters (%U at byte %d)", what, c, i)
		}
	}
	return nil
}
