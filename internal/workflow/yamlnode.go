package workflow

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Bounds on a parsed document, aliases expanded: a definition is user input.
const (
	maxNodes     = 50_000
	maxNodeDepth = 100
)

// converter turns a YAML (or JSON) node tree into JSON-like Go data, Relay's tags becoming ${…} templates, and
// remembers the line of every path for messages.
type converter struct {
	nodes int
	lines map[string]int
}

// posError is an error at a line of the document and a path in it.
type posError struct {
	line int
	path string
	msg  string
}

func (e *posError) Error() string {
	var b strings.Builder
	if e.line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.line)
	}
	if e.path != "" {
		b.WriteString(e.path + ": ")
	}
	b.WriteString(e.msg)
	return b.String()
}

func errAt(n *yaml.Node, path, format string, args ...any) error {
	return &posError{line: n.Line, path: path, msg: fmt.Sprintf(format, args...)}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// enter counts a node against the document's budget.
func (c *converter) enter(n *yaml.Node, path string, depth int) error {
	c.nodes++
	if c.nodes > maxNodes {
		return errAt(n, path, "document too large: more than %d values (aliases expanded)", maxNodes)
	}
	if depth > maxNodeDepth {
		return errAt(n, path, "nested deeper than %d levels", maxNodeDepth)
	}
	return nil
}

// value converts n.
func (c *converter) value(n *yaml.Node, path string, depth int) (any, error) {
	if err := c.enter(n, path, depth); err != nil {
		return nil, err
	}
	if c.lines != nil && depth <= 6 { // the top, steps, their fields and a little below: where messages point
		if _, ok := c.lines[path]; !ok {
			c.lines[path] = n.Line
		}
	}
	if n.Kind == yaml.AliasNode {
		return c.value(n.Alias, path, depth+1)
	}
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return nil, nil
		}
		return c.value(n.Content[0], path, depth+1)
	}
	if isCustomTag(n.Tag) || isRelayJSONForm(n) {
		x, err := c.tagExpr(n, path, depth)
		if err != nil {
			return nil, err
		}
		return "${" + x + "}", nil
	}
	switch n.Kind {
	case yaml.ScalarNode:
		return scalar(n, path)
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for i, it := range n.Content {
			v, err := c.value(it, fmt.Sprintf("%s[%d]", path, i), depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		out := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			key, err := mapKey(k, path)
			if err != nil {
				return nil, err
			}
			if _, dup := out[key]; dup {
				return nil, errAt(k, join(path, key), "set twice")
			}
			x, err := c.value(v, join(path, key), depth+1)
			if err != nil {
				return nil, err
			}
			out[key] = x
		}
		return out, nil
	}
	return nil, errAt(n, path, "unexpected YAML node")
}

func isCustomTag(tag string) bool {
	return strings.HasPrefix(tag, "!") && !strings.HasPrefix(tag, "!!")
}

// mapKey reads a mapping key: any scalar, as its text. Merge keys (<<) are refused.
func mapKey(k *yaml.Node, path string) (string, error) {
	if k.Kind == yaml.AliasNode && k.Alias != nil {
		k = k.Alias
	}
	if k.Kind != yaml.ScalarNode {
		return "", errAt(k, path, "a mapping key must be a plain value")
	}
	if k.Tag == "!!merge" {
		return "", errAt(k, path, "merge keys (<<) are not supported")
	}
	if isCustomTag(k.Tag) {
		return "", errAt(k, path, "a mapping key cannot be tagged %s", k.Tag)
	}
	return k.Value, nil
}

// scalar reads a plain value by its resolved YAML tag.
func scalar(n *yaml.Node, path string) (any, error) {
	switch n.Tag {
	case "!!null":
		return nil, nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return nil, errAt(n, path, "%v", err)
		}
		return b, nil
	case "!!int":
		var i int64
		if err := n.Decode(&i); err == nil {
			return i, nil
		}
		var u uint64
		if err := n.Decode(&u); err == nil {
			return u, nil
		}
		return nil, errAt(n, path, "integer %s out of range", n.Value)
	case "!!float":
		var f float64
		if err := n.Decode(&f); err != nil {
			return nil, errAt(n, path, "%v", err)
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, errAt(n, path, "%s is not a JSON number", n.Value)
		}
		return f, nil
	case "!!str", "!!timestamp", "!!binary", "":
		return n.Value, nil
	}
	return nil, errAt(n, path, "unsupported YAML tag %s", n.Tag)
}

// literal writes a plain value as a CEL literal.
func literal(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case uint64:
		return strconv.FormatUint(v, 10) + "u"
	case float64:
		s := strconv.FormatFloat(v, 'g', -1, 64)
		if !strings.ContainsAny(s, ".eE") {
			s += ".0"
		}
		return s
	case string:
		return celString(v)
	}
	return "null"
}
