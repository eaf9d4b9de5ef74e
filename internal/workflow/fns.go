package workflow

import (
	"fmt"
	"slices"
	"strings"
)

// fn is one of Relay's !Fn functions, written as a CEL expression over its arguments' expressions.
type fn struct {
	min, max int // max -1: no limit
	build    func(args []string) string
}

func (f fn) arity() string {
	switch {
	case f.max == f.min:
		return fmt.Sprintf("%d argument(s)", f.min)
	case f.max < 0:
		return fmt.Sprintf("at least %d argument(s)", f.min)
	}
	return fmt.Sprintf("%d to %d arguments", f.min, f.max)
}

// fns are the !Fn functions a workflow may use (Relay's documented ones and a few of its library's).
var fns = map[string]fn{
	"equals":    {2, 2, func(a []string) string { return "(" + a[0] + " == " + a[1] + ")" }},
	"notEquals": {2, 2, func(a []string) string { return "(" + a[0] + " != " + a[1] + ")" }},
	"concat": {0, -1, func(a []string) string {
		if len(a) == 0 {
			return `""`
		}
		parts := make([]string, len(a))
		for i, x := range a {
			parts[i] = "toString(" + x + ")"
		}
		return "(" + strings.Join(parts, " + ") + ")"
	}},
	"append": {1, -1, func(a []string) string {
		return "(" + a[0] + " + [" + strings.Join(a[1:], ", ") + "])"
	}},
	"jsonUnmarshal": {1, 1, func(a []string) string { return "jsonUnmarshal(" + a[0] + ")" }},
	"merge": {1, -1, func(a []string) string {
		x := a[0]
		for _, y := range a[1:] {
			x = "merge(" + x + ", " + y + ")"
		}
		return x
	}},
	"path":     {2, 3, func(a []string) string { return "path(" + strings.Join(a, ", ") + ")" }},
	"toString": {1, 1, func(a []string) string { return "toString(" + a[0] + ")" }},
	"and":      {1, -1, func(a []string) string { return "(" + strings.Join(a, " && ") + ")" }},
	"or":       {1, -1, func(a []string) string { return "(" + strings.Join(a, " || ") + ")" }},
	"not":      {1, 1, func(a []string) string { return "!(" + a[0] + ")" }},
}

func fnNames() []string {
	names := make([]string, 0, len(fns))
	for k := range fns {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}
