package httpapi

import "golang.org/x/text/unicode/norm"

// normalizeName puts a user or group name into Unicode NFC before it is validated, stored or looked up, so that
// "zoë" typed as one code point or as "e" plus a combining diaeresis is one name, not two that look alike.
// (api's Validate, standard library only, refuses the invisible and direction-changing characters; it cannot
// normalize.)
func normalizeName(s string) string { return norm.NFC.String(s) }
