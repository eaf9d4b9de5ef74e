package workflow

import (
	"errors"
	"strings"
)

// A template is a string with ${…} expressions in it. "$${" writes a literal "${".
type template struct {
	parts []part
}

// part is literal text or, when expr is set, one expression.
type part struct {
	lit  string
	expr string
	raw  string // the expression's text as written, "${" and "}" included
}

// single reports whether the template is exactly one expression, whose value it then takes.
func (t template) single() bool { return len(t.parts) == 1 && t.parts[0].expr != "" }

// hasTemplate reports whether s holds an expression at all, so plain strings skip the parser.
func hasTemplate(s string) bool { return strings.Contains(s, "${") }

var errUnterminated = errors.New(`"${" without its closing "}"`)

// parseTemplate cuts s into literal text and expressions. An expression ends at the "}" that balances its
// "${", braces and quotes inside CEL string literals included. Relay's quoted path segments
// (outputs.'my-step'.x) are rewritten to CEL's index form (outputs['my-step'].x).
func parseTemplate(s string) (template, error) {
	var t template
	var lit strings.Builder
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "$${"):
			lit.WriteString("${")
			i += 3
		case strings.HasPrefix(s[i:], "${"):
			expr, n, err := scanExpr(s[i+2:])
			if err != nil {
				return template{}, err
			}
			if lit.Len() > 0 {
				t.parts = append(t.parts, part{lit: lit.String()})
				lit.Reset()
			}
			if strings.TrimSpace(expr) == "" {
				return template{}, errors.New(`empty expression "${}"`)
			}
			t.parts = append(t.parts, part{expr: expr, raw: s[i : i+2+n]})
			i += 2 + n
		default:
			lit.WriteByte(s[i])
			i++
		}
	}
	if lit.Len() > 0 {
		t.parts = append(t.parts, part{lit: lit.String()})
	}
	return t, nil
}

// scanExpr reads an expression up to its closing brace. It returns the expression (Relay's quoted segments
// rewritten) and how many bytes of s it used, the brace included.
func scanExpr(s string) (string, int, error) {
	var out strings.Builder
	depth := 1
	for i := 0; i < len(s); {
		c := s[i]
		switch c {
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return out.String(), i + 1, nil
			}
		case '\'', '"':
			n, err := stringLiteral(s[i:])
			if err != nil {
				return "", 0, err
			}
			if i > 0 && s[i-1] == '.' {
				// Relay's outputs.'step'.name: CEL has no quoted selector; index instead.
				str := out.String()
				out.Reset()
				out.WriteString(str[:len(str)-1])
				out.WriteString("[" + s[i:i+n] + "]")
			} else {
				out.WriteString(s[i : i+n])
			}
			i += n
			continue
		}
		out.WriteByte(c)
		i++
	}
	return "", 0, errUnterminated
}

// stringLiteral returns the length of the quoted literal s starts with, escapes included.
func stringLiteral(s string) (int, error) {
	q := s[0]
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case q:
			return i + 1, nil
		}
	}
	return 0, errors.New("unterminated string literal in expression")
}

// celKey writes one step of a path into a variable: .name when name is a plain identifier, ["name"] otherwise.
func celKey(name string) string {
	if isIdent(name) && !celReserved[name] {
		return "." + name
	}
	return "[" + celString(name) + "]"
}

// celString is name as a CEL string literal.
func celString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			b.WriteString(`\x`)
			b.WriteByte("0123456789abcdef"[r>>4])
			b.WriteByte("0123456789abcdef"[r&15])
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		letter := c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		if !letter && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// celReserved are CEL's keywords and reserved words, which cannot follow a dot.
var celReserved = map[string]bool{
	"true": true, "false": true, "null": true, "in": true, "as": true, "break": true, "const": true,
	"continue": true, "else": true, "for": true, "function": true, "if": true, "import": true, "let": true,
	"loop": true, "package": true, "namespace": true, "return": true, "var": true, "void": true, "while": true,
}
