package ui

import (
	"regexp"
	"strings"
	"testing"
)

func TestANSIHTML(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "hello\n", "hello\n"},
		{"escaped", "<script>&\"", "&lt;script&gt;&amp;&#34;"},
		{"red then reset", "\x1b[31mred\x1b[0m ok", `<span class="a1">red</span> ok`},
		{"bold bright", "\x1b[1;92mgo\x1b[m", `<span class="a10 ab">go</span>`},
		{"unclosed", "\x1b[34mblue", `<span class="a4">blue</span>`},
		{"cursor moves dropped", "a\x1b[2Kb\x1b[1Ac", "abc"},
		{"lone escape", "a\x1bb", "ab"},
		{"unfinished", "a\x1b[31", "a"},
		{"html inside colour", "\x1b[31m<b>\x1b[0m", `<span class="a1">&lt;b&gt;</span>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(ansiHTML(tt.in)); got != tt.want {
				t.Errorf("ansiHTML(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// markup is all ansiHTML may write: its spans and escaped text.
var markup = regexp.MustCompile(`<span class="(a\d{1,2})?( ab)?">|</span>`)

func FuzzANSIHTML(f *testing.F) {
	for _, s := range []string{"\x1b[31mred\x1b[0m", "<a href=x>", "\x1b[1;38;5;200mx", "\x1b]0;title\x07"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := markup.ReplaceAllString(string(ansiHTML(in)), "")
		if strings.ContainsAny(out, "<>\"") {
			t.Fatalf("ansiHTML(%q) leaves markup: %q", in, out)
		}
	})
}
