package workflow

import (
	"strconv"
	"strings"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
)

// functions are the CEL functions Relay's !Fn tags need beyond CEL's own: jsonUnmarshal(string),
// merge(map, map) (deep; the second wins), path(value, "a.b.0"[, default]) and toString(value) (JSON for
// anything but a string).
func functions() []cel.EnvOption {
	dynMap := cel.MapType(cel.StringType, cel.DynType)
	return []cel.EnvOption{
		cel.Function("jsonUnmarshal", cel.Overload("jsonUnmarshal_string", []*cel.Type{cel.StringType}, cel.DynType,
			cel.UnaryBinding(func(v ref.Val) ref.Val {
				x, err := decodeJSON([]byte(v.(types.String)))
				if err != nil {
					return types.NewErr("jsonUnmarshal: %v", err)
				}
				return types.DefaultTypeAdapter.NativeToValue(x)
			}))),
		cel.Function("merge", cel.Overload("merge_map_map", []*cel.Type{dynMap, dynMap}, dynMap,
			cel.BinaryBinding(func(a, b ref.Val) ref.Val {
				x, err := native(a, 0)
				if err != nil {
					return types.NewErr("merge: %v", err)
				}
				y, err := native(b, 0)
				if err != nil {
					return types.NewErr("merge: %v", err)
				}
				return types.DefaultTypeAdapter.NativeToValue(deepMerge(x, y))
			}))),
		cel.Function("path",
			cel.Overload("path_dyn_string", []*cel.Type{cel.DynType, cel.StringType}, cel.DynType,
				cel.BinaryBinding(func(v, p ref.Val) ref.Val { return lookPath(v, p, nil) })),
			cel.Overload("path_dyn_string_dyn", []*cel.Type{cel.DynType, cel.StringType, cel.DynType}, cel.DynType,
				cel.FunctionBinding(func(args ...ref.Val) ref.Val { return lookPath(args[0], args[1], args[2]) }))),
		cel.Function("toString", cel.Overload("toString_dyn", []*cel.Type{cel.DynType}, cel.StringType,
			cel.UnaryBinding(func(v ref.Val) ref.Val {
				x, err := native(v, 0)
				if err != nil {
					return types.NewErr("toString: %v", err)
				}
				s, err := text(x)
				if err != nil {
					return types.NewErr("toString: %v", err)
				}
				return types.String(s)
			}))),
	}
}

// deepMerge merges b into a: objects key by key, anything else replaced by b.
func deepMerge(a, b any) any {
	am, ok1 := a.(map[string]any)
	bm, ok2 := b.(map[string]any)
	if !ok1 || !ok2 {
		return b
	}
	out := make(map[string]any, len(am)+len(bm))
	for k, v := range am {
		out[k] = v
	}
	for k, v := range bm {
		if old, ok := out[k]; ok {
			out[k] = deepMerge(old, v)
		} else {
			out[k] = v
		}
	}
	return out
}

// lookPath follows a dot-separated path (object keys, list indexes) into v. Without a default (def nil) a
// missing step is an error.
func lookPath(v, p, def ref.Val) ref.Val {
	x, err := native(v, 0)
	if err != nil {
		return types.NewErr("path: %v", err)
	}
	ps, ok := p.(types.String)
	if !ok {
		return types.NewErr("path: the path must be a string")
	}
	for _, k := range strings.Split(string(ps), ".") {
		if k == "" {
			continue
		}
		switch c := x.(type) {
		case map[string]any:
			if n, ok := c[k]; ok {
				x = n
				continue
			}
		case []any:
			if i, err := strconv.Atoi(k); err == nil && i >= 0 && i < len(c) {
				x = c[i]
				continue
			}
		}
		if def != nil {
			return def
		}
		return types.NewErr("path: %q not found", string(ps))
	}
	return types.DefaultTypeAdapter.NativeToValue(x)
}
