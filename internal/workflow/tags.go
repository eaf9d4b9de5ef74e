package workflow

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// isRelayJSONForm reports whether n is one of Relay's JSON spellings of a tag: {"$type": "Parameter", ...}
// or {"$fn.name": args}.
func isRelayJSONForm(n *yaml.Node) bool {
	if n.Kind != yaml.MappingNode || len(n.Content) < 2 || n.Tag != "!!map" {
		return false
	}
	k := n.Content[0].Value
	return (k == "$type" && len(n.Content) >= 2) || (strings.HasPrefix(k, "$fn.") && len(n.Content) == 2)
}

// tagExpr turns a tagged node (!Parameter, !Output, !Secret, !Fn.*, or their JSON spellings) into the CEL
// expression it means.
func (c *converter) tagExpr(n *yaml.Node, path string, depth int) (string, error) {
	tag, body := n.Tag, n
	if isRelayJSONForm(n) {
		k := n.Content[0].Value
		if k == "$type" {
			tag = "!" + n.Content[1].Value
		} else {
			tag, body = "!Fn."+strings.TrimPrefix(k, "$fn."), n.Content[1]
		}
	}
	switch tag {
	case "!Parameter":
		name, err := field(body, path, tag, "name", 0)
		if err != nil {
			return "", err
		}
		return varParameters + celKey(name), nil
	case "!Secret":
		name, err := field(body, path, tag, "name", 0)
		if err != nil {
			return "", err
		}
		return varSecrets + celKey(name), nil
	case "!Output":
		step, err := field(body, path, tag, "from", 0)
		if err != nil {
			return "", err
		}
		name, err := field(body, path, tag, "name", 1)
		if err != nil {
			return "", err
		}
		return varOutputs + celKey(step) + celKey(name), nil
	case "!Connection":
		return "", errAt(n, path, "!Connection is not supported: give the step the credentials as secrets (!Secret)")
	case "!Data":
		if !inTrigger(path) {
			return "", errAt(n, path, "!Data reads a trigger's payload: use it in a trigger's binding or when")
		}
		q, err := field(body, path, tag, "query", 0)
		if err != nil {
			return "", err
		}
		x, err := dataPath(q)
		if err != nil {
			return "", errAt(n, path, "!Data %s: %v", short(q), err)
		}
		return x, nil
	case "!Answer":
		return "", errAt(n, path, "%s is not supported in a workflow", tag)
	}
	if fn, ok := strings.CutPrefix(tag, "!Fn."); ok {
		return c.fnExpr(fn, body, n, path, depth)
	}
	return "", errAt(n, path, "unknown tag %s: want !Parameter, !Output, !Secret, !Data or !Fn.<function>", tag)
}

// field reads a tag's argument: the scalar itself (for i 0), the i-th item of a list, or the key of a mapping.
func field(n *yaml.Node, path, tag, key string, i int) (string, error) {
	switch n.Kind {
	case yaml.ScalarNode:
		if i == 0 && n.Value != "" {
			return n.Value, nil
		}
	case yaml.SequenceNode:
		if i < len(n.Content) && n.Content[i].Kind == yaml.ScalarNode && n.Content[i].Value != "" {
			return n.Content[i].Value, nil
		}
	case yaml.MappingNode:
		for j := 0; j+1 < len(n.Content); j += 2 {
			if n.Content[j].Value == key && n.Content[j+1].Kind == yaml.ScalarNode && n.Content[j+1].Value != "" {
				return n.Content[j+1].Value, nil
			}
		}
	}
	if tag == "!Output" {
		return "", errAt(n, path, "!Output needs a step and a name: !Output [step, name] or !Output {from: step, name: name}")
	}
	return "", errAt(n, path, "%s needs a name: %s name", tag, tag)
}

// fnExpr turns !Fn.name args into a CEL expression.
func (c *converter) fnExpr(name string, body, n *yaml.Node, path string, depth int) (string, error) {
	f, ok := fns[name]
	if !ok {
		return "", errAt(n, path, "unknown function !Fn.%s: want one of %s", name, strings.Join(fnNames(), ", "))
	}
	if body == n { // !Fn.name args: the tag is on the arguments' node; read it untagged
		untagged := *n
		untagged.Tag = ""
		if n.Kind == yaml.ScalarNode && n.Value == "" && n.Style == 0 {
			untagged.Tag = "!!null"
		}
		body = &untagged
	}
	items := []*yaml.Node{body}
	switch {
	case body.Kind == yaml.SequenceNode && !isCustomTag(body.Tag):
		items = body.Content
	case body.Kind == yaml.ScalarNode && body.Tag == "!!null":
		items = nil
	}
	if len(items) < f.min || (f.max >= 0 && len(items) > f.max) {
		return "", errAt(n, path, "!Fn.%s takes %s, got %d", name, f.arity(), len(items))
	}
	args := make([]string, len(items))
	for i, it := range items {
		x, err := c.exprOf(it, fmt.Sprintf("%s[%d]", path, i), depth+1)
		if err != nil {
			return "", err
		}
		args[i] = x
	}
	return f.build(args), nil
}

// exprOf writes n as a CEL expression: tags as what they mean, templates as their expressions, the rest as
// literals.
func (c *converter) exprOf(n *yaml.Node, path string, depth int) (string, error) {
	if err := c.enter(n, path, depth); err != nil {
		return "", err
	}
	if n.Kind == yaml.AliasNode {
		return c.exprOf(n.Alias, path, depth+1)
	}
	if isCustomTag(n.Tag) || isRelayJSONForm(n) {
		return c.tagExpr(n, path, depth)
	}
	switch n.Kind {
	case yaml.ScalarNode:
		v, err := scalar(n, path)
		if err != nil {
			return "", err
		}
		s, ok := v.(string)
		if !ok || !hasTemplate(s) {
			return literal(v), nil
		}
		t, err := parseTemplate(s)
		if err != nil {
			return "", errAt(n, path, "%v", err)
		}
		return t.expr(), nil
	case yaml.SequenceNode:
		parts := make([]string, len(n.Content))
		for i, it := range n.Content {
			x, err := c.exprOf(it, fmt.Sprintf("%s[%d]", path, i), depth+1)
			if err != nil {
				return "", err
			}
			parts[i] = x
		}
		return "[" + strings.Join(parts, ", ") + "]", nil
	case yaml.MappingNode:
		var parts []string
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, err := mapKey(n.Content[i], path)
			if err != nil {
				return "", err
			}
			x, err := c.exprOf(n.Content[i+1], join(path, k), depth+1)
			if err != nil {
				return "", err
			}
			parts = append(parts, celString(k)+": "+x)
		}
		return "{" + strings.Join(parts, ", ") + "}", nil
	}
	return "", errAt(n, path, "unexpected YAML node")
}

// expr writes a template as one CEL expression: a single ${x} is x; anything else a string concatenation.
func (t template) expr() string {
	if t.single() {
		return "(" + t.parts[0].expr + ")"
	}
	parts := make([]string, len(t.parts))
	for i, p := range t.parts {
		if p.expr == "" {
			parts[i] = celString(p.lit)
		} else {
			parts[i] = "toString(" + p.expr + ")"
		}
	}
	return "(" + strings.Join(parts, " + ") + ")"
}
