package ui

import (
	"html"
	"html/template"
	"strconv"
	"strings"
)

// ansiHTML renders a job log as HTML: text escaped, SGR colour and bold codes (ESC[…m) turned into spans with
// fixed class names, every other escape sequence dropped. Nothing from the log reaches the page but escaped text
// and the numbers 0-15 in class names; app.js does the same for the lines that arrive live.
func ansiHTML(log string) template.HTML {
	var b strings.Builder
	open := false
	for len(log) > 0 {
		i := strings.IndexByte(log, 0x1b)
		if i < 0 {
			b.WriteString(html.EscapeString(log))
			break
		}
		b.WriteString(html.EscapeString(log[:i]))
		log = log[i+1:]
		if !strings.HasPrefix(log, "[") {
			continue // a lone ESC or a sequence we do not render: drop the ESC
		}
		end := strings.IndexFunc(log[1:], func(r rune) bool { return r >= 0x40 && r <= 0x7e })
		if end < 0 {
			break // an unfinished sequence at the end
		}
		params, final := log[1:1+end], log[1+end]
		log = log[2+end:]
		if final != 'm' {
			continue
		}
		fg, bold := sgr(params)
		if open {
			b.WriteString("</span>")
			open = false
		}
		if fg >= 0 || bold {
			b.WriteString(`<span class="`)
			if fg >= 0 {
				b.WriteString("a" + strconv.Itoa(fg))
			}
			if bold {
				b.WriteString(" ab")
			}
			b.WriteString(`">`)
			open = true
		}
	}
	if open {
		b.WriteString("</span>")
	}
	return template.HTML(b.String()) //nolint:gosec // built from escaped text and fixed markup only
}

// sgr reads "1;31" into a foreground colour 0-15 (-1: default) and bold. Unknown parameters are ignored.
func sgr(params string) (fg int, bold bool) {
	fg = -1
	for p := range strings.SplitSeq(params, ";") {
		n, err := strconv.Atoi(p)
		switch {
		case p == "" || err == nil && n == 0:
			fg, bold = -1, false
		case err != nil:
		case n == 1:
			bold = true
		case n == 22:
			bold = false
		case n >= 30 && n <= 37:
			fg = n - 30
		case n >= 90 && n <= 97:
			fg = n - 90 + 8
		case n == 39:
			fg = -1
		}
	}
	return fg, bold
}
