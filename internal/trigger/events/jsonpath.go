package events

import (
	"fmt"
	"strconv"
	"strings"
)

// A Path is a compiled JSONPath of the subset Keptn's configs use: $ then .name, ['name'] or ["name"], [n]
// (negative counts from the end) and [*] or .* (every element or member).
type Path struct {
	text  string
	steps []pathStep
}

type pathStep struct {
	name  string
	index int
	kind  stepKind
}

type stepKind int

const (
	stepName stepKind = iota
	stepIndex
	stepAll
)

// maxPath bounds a path's length: a path comes from a user's config.
const maxPath = 1024

// ParsePath compiles a JSONPath; the error says where it is wrong.
func ParsePath(s string) (Path, error) {
	p := Path{text: s}
	if len(s) > maxPath {
		return Path{}, fmt.Errorf("jsonpath: longer than %d bytes", maxPath)
	}
	if !strings.HasPrefix(s, "$") {
		return Path{}, fmt.Errorf("jsonpath %q: must start with $", s)
	}
	i := 1
	for i < len(s) {
		switch s[i] {
		case '.':
			i++
			j := i
			for j < len(s) && s[j] != '.' && s[j] != '[' {
				j++
			}
			if j == i {
				return Path{}, fmt.Errorf("jsonpath %q: empty name at %d", s, i)
			}
			if s[i:j] == "*" {
				p.steps = append(p.steps, pathStep{kind: stepAll})
			} else {
				p.steps = append(p.steps, pathStep{kind: stepName, name: s[i:j]})
			}
			i = j
		case '[':
			end := strings.IndexByte(s[i:], ']')
			if end < 0 {
				return Path{}, fmt.Errorf("jsonpath %q: [ at %d is not closed", s, i)
			}
			in := s[i+1 : i+end]
			switch {
			case in == "*":
				p.steps = append(p.steps, pathStep{kind: stepAll})
			case len(in) >= 2 && (in[0] == '\'' || in[0] == '"') && in[len(in)-1] == in[0]:
				name := in[1 : len(in)-1]
				if strings.ContainsAny(name, `'"`) {
					return Path{}, fmt.Errorf("jsonpath %q: quotes inside the name at %d", s, i)
				}
				p.steps = append(p.steps, pathStep{kind: stepName, name: name})
			default:
				n, err := strconv.Atoi(strings.TrimSpace(in))
				if err != nil {
					return Path{}, fmt.Errorf("jsonpath %q: [%s] at %d is neither an index, a quoted name nor *", s, in, i)
				}
				p.steps = append(p.steps, pathStep{kind: stepIndex, index: n})
			}
			i += end + 1
		default:
			return Path{}, fmt.Errorf("jsonpath %q: unexpected %q at %d", s, s[i], i)
		}
	}
	return p, nil
}

// String returns the path as written.
func (p Path) String() string { return p.text }

// Get returns the value at p in doc (JSON decoded into any): a wildcard gives a list of what it reaches. The error
// says which step found nothing.
func (p Path) Get(doc any) (any, error) {
	v, many, err := get(p.steps, doc)
	if err != nil {
		return nil, fmt.Errorf("jsonpath %s: %w", p.text, err)
	}
	if many {
		return v.([]any), nil
	}
	return v, nil
}

func get(steps []pathStep, v any) (any, bool, error) {
	for k, st := range steps {
		switch st.kind {
		case stepName:
			m, ok := v.(map[string]any)
			if !ok {
				return nil, false, fmt.Errorf("%s: not an object", st.name)
			}
			if v, ok = m[st.name]; !ok {
				return nil, false, fmt.Errorf("unknown key %s", st.name)
			}
		case stepIndex:
			l, ok := v.([]any)
			if !ok {
				return nil, false, fmt.Errorf("[%d]: not a list", st.index)
			}
			i := st.index
			if i < 0 {
				i += len(l)
			}
			if i < 0 || i >= len(l) {
				return nil, false, fmt.Errorf("index [%d] out of range (%d elements)", st.index, len(l))
			}
			v = l[i]
		case stepAll:
			var elems []any
			switch x := v.(type) {
			case []any:
				elems = x
			case map[string]any:
				for _, k := range sortedKeys(x) {
					elems = append(elems, x[k])
				}
			default:
				return nil, false, fmt.Errorf("*: neither a list nor an object")
			}
			out := []any{}
			for _, e := range elems {
				r, many, err := get(steps[k+1:], e)
				if err != nil {
					continue
				}
				if many {
					out = append(out, r.([]any)...)
				} else {
					out = append(out, r)
				}
			}
			return out, true, nil
		}
	}
	return v, false, nil
}
