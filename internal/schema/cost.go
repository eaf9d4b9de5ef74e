package schema

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The validator of github.com/santhosh-tekuri/jsonschema/v6 cannot be interrupted: it has no context, no step
// budget and no hook that runs before every subschema. What one validation costs is therefore bounded before
// it starts, in two halves that multiply:
//
//   - At compile time, cost analyses the compiled schema graph. It refuses a graph with more than maxNodes
//     subschemas, and any cycle of in-place applicators ($ref, allOf, anyOf, oneOf, not, if/then/else,
//     dependentSchemas, $dynamicRef, ...) — a cycle that never descends into the input is either infinite or,
//     with fan-out, exponential, and the library fails it at run time anyway. A cycle through properties,
//     items and the like is a recursive schema (a tree) and stays legitimate. It then computes perValue[k]: an
//     upper bound on the weighted number of subschema evaluations that one input value at depth k can cause,
//     and refuses the schema when any bound exceeds maxPerValue. This is where a 22-level anyOf/$ref bomb
//     (2^22 evaluations of the same value) is refused.
//   - At validation time, steps multiplies the input's number of values at each depth by perValue and refuses
//     the input, before validating it, when the product exceeds maxSteps.
//
// The bound counts an evaluation once per path that can reach it, which is exactly what the library does (it
// memoizes nothing). It over-approximates: every applicator is assumed to apply, and a $dynamicRef or
// $recursiveRef may land on any schema carrying its anchor.
const (
	maxNodes      = 5000    // subschemas in one compiled schema
	maxPerValue   = 10_000  // weighted evaluations of one input value
	maxSteps      = 200_000 // weighted evaluations for one input: ~1 s and 53 MB at worst (BenchmarkValidateWorstCase)
	maxInputDepth = 128     // input nesting the bound is computed for, when the schema is recursive
)

// node is one subschema in the cost graph, or (max set) a choice made at run time among several.
type node struct {
	loc        string
	weight     uint64         // work of one evaluation, keyword checks included; 0 for a choice
	max        bool           // a choice: the value of the largest of self, not their sum
	self       []int          // in-place applicators: evaluated on the same value
	props      map[string]int // properties: applied to the member of that name
	additional int            // additionalProperties, applied to the other members; -1 for none
	objAll     []int          // applied to an object member, all of them
	keys       []int          // propertyNames: applied to member names
	arrOne     []int          // applied to an array item, at most one of these per item
	arrAll     []int          // applied to an array item, all of them
	content    []int          // contentSchema: applied to the document a string holds
	kinds      [nKinds]bool   // the kinds of value the node's `type` lets through to its applicators
}

// cost is the analysis of one compiled schema.
type cost struct {
	perValue []uint64 // perValue[k]: bound on the weighted evaluations of one value at depth k
	deep     bool     // values deeper than maxInputDepth are evaluated too: such input is refused
}

// graph builds the cost graph of root and the extra schemas (those carrying dynamic or recursive anchors,
// which run-time resolution can reach without a static edge).
type graph struct {
	nodes   []node
	ids     map[*jsonschema.Schema]int
	queue   []*jsonschema.Schema
	dynamic map[string][]*jsonschema.Schema // $dynamicAnchor name → schemas
	recurse []*jsonschema.Schema            // schemas with $recursiveAnchor: true
	choices map[string]int                  // choice node per anchor
}

func analyse(root *jsonschema.Schema, extra []*jsonschema.Schema) (*cost, error) {
	g := &graph{ids: map[*jsonschema.Schema]int{}, dynamic: map[string][]*jsonschema.Schema{}, choices: map[string]int{}}
	if _, err := g.id(root); err != nil {
		return nil, err
	}
	for _, s := range extra {
		if _, err := g.id(s); err != nil {
			return nil, err
		}
	}
	// Discover every reachable schema first, so the anchor sets are complete before references to them are
	// wired.
	for i := 0; i < len(g.queue); i++ {
		for _, c := range children(g.queue[i]) {
			if _, err := g.id(c); err != nil {
				return nil, err
			}
		}
	}
	schemas := g.queue
	for _, s := range schemas {
		if err := g.wire(s); err != nil {
			return nil, err
		}
	}
	order, err := g.topo()
	if err != nil {
		return nil, err
	}
	return g.bound(order)
}

// id numbers s, refusing a graph that grows past maxNodes.
func (g *graph) id(s *jsonschema.Schema) (int, error) {
	if i, ok := g.ids[s]; ok {
		return i, nil
	}
	if len(g.nodes) >= maxNodes {
		return 0, fmt.Errorf("schema has more than %d subschemas", maxNodes)
	}
	i := len(g.nodes)
	g.ids[s] = i
	g.nodes = append(g.nodes, node{loc: location(s.Location), weight: weight(s), kinds: kinds(s), additional: -1})
	g.queue = append(g.queue, s)
	if s.DynamicAnchor != "" {
		g.dynamic[s.DynamicAnchor] = append(g.dynamic[s.DynamicAnchor], s)
	}
	if s.RecursiveAnchor {
		g.recurse = append(g.recurse, s)
	}
	return i, nil
}

// choice is the node for "one of these schemas, chosen at run time".
func (g *graph) choice(key string, fallback *jsonschema.Schema, among []*jsonschema.Schema) (int, error) {
	if i, ok := g.choices[key]; ok {
		return i, nil
	}
	if len(g.nodes) >= maxNodes {
		return 0, fmt.Errorf("schema has more than %d subschemas", maxNodes)
	}
	i := len(g.nodes)
	g.choices[key] = i
	g.nodes = append(g.nodes, node{loc: location(fallback.Location), max: true, additional: -1})
	for _, s := range append([]*jsonschema.Schema{fallback}, among...) {
		g.nodes[i].self = append(g.nodes[i].self, g.ids[s])
	}
	return i, nil
}

// wire records s's edges. All schemas are numbered by now.
func (g *graph) wire(s *jsonschema.Schema) error {
	n := &g.nodes[g.ids[s]]
	add := func(dst *[]int, ss ...*jsonschema.Schema) {
		for _, c := range ss {
			if c != nil {
				*dst = append(*dst, g.ids[c])
			}
		}
	}
	add(&n.self, s.Ref, s.Not, s.If, s.Then, s.Else)
	add(&n.self, s.AllOf...)
	add(&n.self, s.AnyOf...)
	add(&n.self, s.OneOf...)
	for _, d := range s.Dependencies {
		if d, ok := d.(*jsonschema.Schema); ok {
			add(&n.self, d)
		}
	}
	for _, d := range s.DependentSchemas {
		add(&n.self, d)
	}
	if r := s.RecursiveRef; r != nil {
		if r.RecursiveAnchor {
			c, err := g.choice("recursive", r, g.recurse)
			if err != nil {
				return err
			}
			n = &g.nodes[g.ids[s]] // choice may have grown g.nodes
			n.self = append(n.self, c)
		} else {
			add(&n.self, r)
		}
	}
	if d := s.DynamicRef; d != nil {
		if d.Anchor != "" && d.Ref.DynamicAnchor == d.Anchor {
			c, err := g.choice("dynamic:"+d.Anchor, d.Ref, g.dynamic[d.Anchor])
			if err != nil {
				return err
			}
			n = &g.nodes[g.ids[s]]
			n.self = append(n.self, c)
		} else {
			add(&n.self, d.Ref)
		}
	}

	if len(s.Properties) > 0 {
		n.props = make(map[string]int, len(s.Properties))
		for name, p := range s.Properties {
			n.props[name] = g.ids[p]
		}
	}
	if a, ok := s.AdditionalProperties.(*jsonschema.Schema); ok {
		n.additional = g.ids[a]
	}
	for _, p := range s.PatternProperties {
		add(&n.objAll, p)
	}
	add(&n.objAll, s.UnevaluatedProperties)
	add(&n.keys, s.PropertyNames)

	switch items := s.Items.(type) {
	case *jsonschema.Schema:
		add(&n.arrOne, items)
	case []*jsonschema.Schema:
		add(&n.arrOne, items...)
	}
	if a, ok := s.AdditionalItems.(*jsonschema.Schema); ok {
		add(&n.arrOne, a)
	}
	add(&n.arrOne, s.PrefixItems...)
	add(&n.arrOne, s.Items2020)
	add(&n.arrAll, s.Contains, s.UnevaluatedItems)
	add(&n.content, s.ContentSchema)
	return nil
}

// children lists every subschema s can apply, in-place or to a part of the value.
func children(s *jsonschema.Schema) []*jsonschema.Schema {
	var out []*jsonschema.Schema
	add := func(ss ...*jsonschema.Schema) {
		for _, c := range ss {
			if c != nil {
				out = append(out, c)
			}
		}
	}
	add(s.Ref, s.RecursiveRef, s.Not, s.If, s.Then, s.Else, s.PropertyNames, s.UnevaluatedProperties,
		s.Contains, s.Items2020, s.UnevaluatedItems, s.ContentSchema)
	if s.DynamicRef != nil {
		add(s.DynamicRef.Ref)
	}
	add(s.AllOf...)
	add(s.AnyOf...)
	add(s.OneOf...)
	add(s.PrefixItems...)
	for _, d := range s.Dependencies {
		if d, ok := d.(*jsonschema.Schema); ok {
			add(d)
		}
	}
	for _, d := range s.DependentSchemas {
		add(d)
	}
	for _, p := range s.Properties {
		add(p)
	}
	for _, p := range s.PatternProperties {
		add(p)
	}
	for _, a := range []any{s.AdditionalProperties, s.AdditionalItems, s.Items} {
		switch a := a.(type) {
		case *jsonschema.Schema:
			add(a)
		case []*jsonschema.Schema:
			add(a...)
		}
	}
	return out
}

// topo orders the nodes so that every in-place successor comes before its predecessor, refusing a cycle of
// in-place applicators and naming it.
func (g *graph) topo() ([]int, error) {
	const (
		unseen = iota
		active
		done
	)
	state := make([]int, len(g.nodes))
	order := make([]int, 0, len(g.nodes))
	var path []int
	var visit func(i int) error
	visit = func(i int) error {
		switch state[i] {
		case done:
			return nil
		case active:
			return g.cycleError(path, i)
		}
		state[i] = active
		path = append(path, i)
		for _, j := range g.nodes[i].self {
			if err := visit(j); err != nil {
				return err
			}
		}
		path = path[:len(path)-1]
		state[i] = done
		order = append(order, i)
		return nil
	}
	for i := range g.nodes {
		if err := visit(i); err != nil {
			return nil, err
		}
	}
	return order, nil
}

func (g *graph) cycleError(path []int, back int) error {
	var locs []string
	for k := len(path) - 1; k >= 0; k-- {
		if !g.nodes[path[k]].max {
			locs = append(locs, g.nodes[path[k]].loc)
		}
		if path[k] == back {
			break
		}
	}
	// path runs outward from back; print it in the order the references are followed.
	for l, r := 0, len(locs)-1; l < r; l, r = l+1, r-1 {
		locs[l], locs[r] = locs[r], locs[l]
	}
	locs = append(locs, g.nodes[back].loc)
	const shown = 6
	if len(locs) > shown {
		locs = append(locs[:shown-1], "...", locs[len(locs)-1])
	}
	return fmt.Errorf("$ref cycle that never descends into the input: %s", strings.Join(locs, " -> "))
}

// Kinds of JSON value: a schema whose `type` excludes a value's kind stops at that check, so none of its
// applicators run; and only objects and arrays have parts.
const (
	kindObject = iota
	kindArray
	kindScalar
	nKinds
)

// maxNames is how many member names a profile tracks one by one before it keeps only their maximum.
const maxNames = 64

// profile is what the subschemas evaluated on one object cause on one of its members: byName[n] for a member
// named n, rest for any other, plus names for evaluating the member's name (propertyNames).
type profile struct {
	byName map[string]uint64
	rest   uint64
	names  uint64
}

func (p *profile) get(name string) uint64 {
	if v, ok := p.byName[name]; ok {
		return v
	}
	return p.rest
}

// add adds q to p member by member; max instead keeps the larger (a choice among schemas).
func (p *profile) add(q *profile, max bool) {
	op := sat
	if max {
		op = func(a, b uint64) uint64 { return builtinMax(a, b) }
	}
	merged := make(map[string]uint64, len(p.byName)+len(q.byName))
	for n := range p.byName {
		merged[n] = op(p.get(n), q.get(n))
	}
	for n := range q.byName {
		merged[n] = op(p.get(n), q.get(n))
	}
	p.byName, p.rest, p.names = merged, op(p.rest, q.rest), op(p.names, q.names)
	if len(p.byName) > maxNames {
		for _, v := range p.byName {
			p.rest = builtinMax(p.rest, v)
		}
		p.byName = nil
	}
}

// top is the most any one member gets.
func (p *profile) top() uint64 {
	v := p.rest
	for _, x := range p.byName {
		v = builtinMax(v, x)
	}
	return sat(v, p.names)
}

func builtinMax(a, b uint64) uint64 { return max(a, b) }

// bound computes perValue depth by depth: w[t][i] bounds the weighted evaluations that one evaluation of node
// i, on a value of kind t, causes on a single value k levels below. The kind of each value on the way down is
// the input's choice, so a part's bound is the largest over its kinds. For objects the bound is kept per
// member name, since the in-place subschemas of one value (the vocabularies of a meta-schema, say) often
// recurse through different members.
func (g *graph) bound(order []int) (*cost, error) {
	root := 0
	var prev, cur [nKinds][]uint64
	for t := range nKinds {
		prev[t] = make([]uint64, len(g.nodes))
		cur[t] = make([]uint64, len(g.nodes))
	}
	part := func(i int) uint64 { return max(prev[kindObject][i], prev[kindArray][i], prev[kindScalar][i]) }
	sumParts := func(ids []int) (v uint64) {
		for _, i := range ids {
			v = sat(v, part(i))
		}
		return v
	}
	profiles := make([]profile, len(g.nodes))
	c := &cost{}
	for k := 0; k <= maxInputDepth+1; k++ {
		for _, i := range order {
			n := &g.nodes[i]
			if k > 0 {
				profiles[i] = g.profile(n, k, profiles, part, sumParts)
			}
			for t := range nKinds {
				var v uint64
				switch {
				case n.max:
					for _, j := range n.self {
						v = max(v, cur[t][j])
					}
				case k == 0:
					v = n.weight
					if n.kinds[t] {
						for _, j := range n.self {
							v = sat(v, cur[t][j])
						}
					}
				case !n.kinds[t]:
				case t == kindObject:
					v = profiles[i].top()
				default:
					for _, j := range n.self {
						v = sat(v, cur[t][j])
					}
					if t == kindArray {
						one := uint64(0)
						for _, j := range n.arrOne {
							one = max(one, part(j))
						}
						v = sat(v, sat(one, sumParts(n.arrAll)))
					} else {
						v = sat(v, sumParts(n.content))
					}
				}
				cur[t][i] = v
			}
		}
		w := max(cur[kindObject][root], cur[kindArray][root], cur[kindScalar][root])
		if k > maxInputDepth {
			c.deep = w > 0
			break
		}
		if w > maxPerValue {
			return nil, fmt.Errorf("schema is too expensive to evaluate: one value %s may need over %d subschema evaluations (the limit)",
				depthPhrase(k), maxPerValue)
		}
		c.perValue = append(c.perValue, w)
		// From depth 2 on every step is the same function of the one before: a repeated row repeats forever.
		if k >= 2 && equalRows(cur, prev) {
			for len(c.perValue) <= maxInputDepth {
				c.perValue = append(c.perValue, w)
			}
			c.deep = w > 0
			break
		}
		prev, cur = cur, prev
	}
	for len(c.perValue) > 0 && c.perValue[len(c.perValue)-1] == 0 {
		c.perValue = c.perValue[:len(c.perValue)-1]
	}
	return c, nil
}

// profile is node n's member profile at depth k > 0: its own applicators plus those of its in-place
// subschemas, whose profiles are computed already.
func (g *graph) profile(n *node, k int, profiles []profile, part func(int) uint64, sumParts func([]int) uint64) profile {
	var p profile
	if n.max {
		for x, j := range n.self {
			if x == 0 {
				p = profiles[j]
				continue
			}
			p.add(&profiles[j], true)
		}
		return p
	}
	if !n.kinds[kindObject] {
		return p
	}
	all := sumParts(n.objAll)
	if len(n.props) > 0 {
		p.byName = make(map[string]uint64, len(n.props))
		for name, j := range n.props {
			p.byName[name] = sat(part(j), all)
		}
	}
	p.rest = all
	if n.additional >= 0 {
		p.rest = sat(p.rest, part(n.additional))
	}
	if k == 1 {
		p.names = sumParts(n.keys) // a member's name is a string: evaluated one level down only
	}
	if len(p.byName) > maxNames {
		p.add(&profile{}, false) // collapse
	}
	for _, j := range n.self {
		p.add(&profiles[j], false)
	}
	return p
}

func equalRows(a, b [nKinds][]uint64) bool {
	for t := range nKinds {
		if !slices.Equal(a[t], b[t]) {
			return false
		}
	}
	return true
}

func depthPhrase(k int) string {
	if k == 0 {
		return "at the top of the input"
	}
	return fmt.Sprintf("%d levels deep in the input", k)
}

// steps bounds the weighted evaluations of validating v: the sum over its values of perValue at their depth.
// It returns an error for input nested deeper than the bound was computed for, when the schema reaches there.
func (c *cost) steps(v any) (uint64, error) {
	var total uint64
	var walk func(v any, depth int) error
	walk = func(v any, depth int) error {
		if depth > maxInputDepth {
			if c.deep {
				return fmt.Errorf("input is nested more than %d levels deep", maxInputDepth)
			}
			return nil
		}
		if depth < len(c.perValue) {
			total = sat(total, c.perValue[depth])
		} else if !c.deep {
			return nil // the schema reaches no deeper
		}
		switch v := v.(type) {
		case map[string]any:
			// perValue counts the evaluations of a member's name with those of its value.
			for _, e := range v {
				if err := walk(e, depth+1); err != nil {
					return err
				}
			}
		case []any:
			for _, e := range v {
				if err := walk(e, depth+1); err != nil {
					return err
				}
			}
		}
		return nil
	}
	err := walk(v, 0)
	return total, err
}

// weight is the work of one evaluation of s on a value, beyond the fixed cost: checks whose cost grows with
// the schema (enum and const comparisons, required and dependency lists, pattern properties).
func weight(s *jsonschema.Schema) uint64 {
	w := uint64(1)
	if s.Enum != nil {
		for _, e := range s.Enum.Values {
			w = sat(w, size(e))
		}
	}
	if s.Const != nil {
		w = sat(w, size(*s.Const))
	}
	w = sat(w, uint64(len(s.Required)+len(s.Dependencies)+len(s.DependentRequired)+len(s.PatternProperties)))
	for _, d := range s.Dependencies {
		if d, ok := d.([]string); ok {
			w = sat(w, uint64(len(d)))
		}
	}
	for _, d := range s.DependentRequired {
		w = sat(w, uint64(len(d)))
	}
	return w
}

// kinds reports which kinds of value get past s's boolean and `type` checks, on to its applicators.
func kinds(s *jsonschema.Schema) [nKinds]bool {
	if s.Bool != nil {
		return [nKinds]bool{}
	}
	if s.Types == nil || s.Types.IsEmpty() {
		return [nKinds]bool{true, true, true}
	}
	var k [nKinds]bool
	for _, t := range s.Types.ToStrings() {
		switch t {
		case "object":
			k[kindObject] = true
		case "array":
			k[kindArray] = true
		default:
			k[kindScalar] = true
		}
	}
	return k
}

// size counts the JSON values in v.
func size(v any) uint64 {
	n := uint64(1)
	switch v := v.(type) {
	case map[string]any:
		for _, e := range v {
			n = sat(n, size(e))
		}
	case []any:
		for _, e := range v {
			n = sat(n, size(e))
		}
	}
	return n
}

func maxOf(w []uint64, ids []int) uint64 {
	var v uint64
	for _, i := range ids {
		v = max(v, w[i])
	}
	return v
}

func sumOf(w []uint64, ids []int) uint64 {
	var v uint64
	for _, i := range ids {
		v = sat(v, w[i])
	}
	return v
}

// sat adds without overflowing: the bounds only need to be compared with limits far below the cap.
func sat(a, b uint64) uint64 {
	const capv = 1 << 62
	if a >= capv || b >= capv || a+b >= capv {
		return capv
	}
	return a + b
}

// location is a schema's location inside the task schema, "#/$defs/a", or its URL when it is elsewhere (an
// embedded meta-schema).
func location(l string) string {
	if rest, ok := strings.CutPrefix(l, resourceURL); ok {
		if rest == "" {
			return "#"
		}
		return rest
	}
	return l
}

// extraRoots compiles the subschemas of doc that carry a $dynamicAnchor or $recursiveAnchor (run-time
// resolution can jump to them without a static reference, so the analysis must see them) and the definitions
// under $defs and definitions (so a cycle there is refused even before something refers to it). A location
// that does not compile (an anchor-looking object inside an enum, say) is skipped: the validator cannot reach
// it either.
func extraRoots(c *jsonschema.Compiler, doc any) []*jsonschema.Schema {
	var out []*jsonschema.Schema
	compile := func(ptr string) {
		if s, err := c.Compile(resourceURL + "#" + ptr); err == nil {
			out = append(out, s)
		}
	}
	var walk func(v any, ptr string)
	walk = func(v any, ptr string) {
		switch v := v.(type) {
		case map[string]any:
			_, dyn := v["$dynamicAnchor"].(string)
			if dyn || v["$recursiveAnchor"] == true {
				compile(ptr)
			}
			for k, e := range v {
				p := ptr + "/" + pointerEscaper.Replace(k)
				if defs, ok := e.(map[string]any); ok && (k == "$defs" || k == "definitions") {
					for name := range defs {
						compile(p + "/" + pointerEscaper.Replace(name))
					}
				}
				walk(e, p)
			}
		case []any:
			for i, e := range v {
				walk(e, ptr+"/"+strconv.Itoa(i))
			}
		}
	}
	walk(doc, "")
	return out
}

// tooManyNodes reports whether doc holds more than maxNodes objects and booleans, anywhere: each may become a
// subschema (a $ref can point anywhere in the document), and the library's compile time grows with the
// square of their number, so this is checked before compiling.
func tooManyNodes(doc any) bool {
	n := 0
	var walk func(v any) bool
	walk = func(v any) bool {
		switch v := v.(type) {
		case map[string]any:
			n++
			for _, e := range v {
				if walk(e) {
					return true
				}
			}
		case []any:
			for _, e := range v {
				if walk(e) {
					return true
				}
			}
		case bool:
			n++
		}
		return n > maxNodes
	}
	return walk(doc)
}
