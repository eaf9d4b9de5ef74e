package events

import (
	"regexp/syntax"
	"strings"

	"github.com/runplane/runplane/internal/store"
)

// ruleIndex finds the rule sets an event's type can match without trying each one's patterns. A rule set whose
// every event pattern is a literal anchored at both ends (`^sh\.keptn\.event\.test\.triggered$`, the common
// form) can match only the types it spells, so it is filed under them; any other rule set (a true regular
// expression, a pattern that does not compile, rules read from a repository) is tried against every event.
// Which of the candidates match, and in which order their actions run, is still Match's to say: the index only
// leaves out rule sets Match would answer nothing for.
type ruleIndex struct {
	exact  map[string][]int // event type → the rule sets filed under it, ascending
	always []int            // the rule sets tried against every event, ascending
}

// newRuleIndex indexes sets.
func newRuleIndex(sets []store.EventRuleSet) ruleIndex {
	x := ruleIndex{exact: map[string][]int{}}
	for k, rs := range sets {
		types, ok := exactTypes(rs)
		if !ok {
			x.always = append(x.always, k)
			continue
		}
		for _, t := range types {
			if l := x.exact[t]; len(l) == 0 || l[len(l)-1] != k { // a type spelled twice in one set files it once
				x.exact[t] = append(l, k)
			}
		}
	}
	return x
}

// candidates returns the indexes of the rule sets an event of type typ can match, ascending (the order of the
// sets, which is the order their actions are started in).
func (x ruleIndex) candidates(typ string) []int {
	a, b := x.exact[typ], x.always
	if len(a) == 0 {
		return b
	}
	if len(b) == 0 {
		return a
	}
	out := make([]int, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if a[0] < b[0] {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	return append(append(out, a...), b...)
}

// exactTypes returns the types rs's patterns spell when every one of them is an anchored literal; false when any
// is not, or rs's rules are not held here (read from a repository at the event's commit).
func exactTypes(rs store.EventRuleSet) ([]string, bool) {
	if rs.Path != "" {
		return nil, false
	}
	var types []string
	for _, a := range rs.Actions {
		for _, e := range a.Events {
			t, ok := exactLiteral(e.Name)
			if !ok {
				return nil, false
			}
			types = append(types, t)
		}
	}
	return types, true
}

// exactLiteral returns the one string pattern matches when it is `^literal$` — as regexp.Compile parses it
// (Perl syntax: `$` is the end of the text, as \z) with no case folding — and false for any other pattern.
func exactLiteral(pattern string) (string, bool) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return "", false
	}
	re = re.Simplify()
	if re.Op != syntax.OpConcat || len(re.Sub) < 2 || re.Sub[0].Op != syntax.OpBeginText ||
		re.Sub[len(re.Sub)-1].Op != syntax.OpEndText {
		return "", false
	}
	var b strings.Builder
	for _, s := range re.Sub[1 : len(re.Sub)-1] {
		if s.Op != syntax.OpLiteral || s.Flags&syntax.FoldCase != 0 {
			return "", false
		}
		b.WriteString(string(s.Rune))
	}
	return b.String(), true
}
