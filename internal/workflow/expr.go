package workflow

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"cel.dev/cel-go/cel"
	celast "cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/types"
)

// Bounds on expressions: a definition is user input, and so is everything an expression reads at run time.
const (
	// MaxExprLen bounds one expression's source, in code points.
	MaxExprLen = 4096
	// CostLimit bounds what one evaluation may do (CEL's runtime cost: roughly one unit per operation, more for
	// work proportional to the size of strings and lists), so a hostile expression cannot hog the server.
	CostLimit = 1_000_000
)

// The variables expressions read.
const (
	varParameters = "parameters"
	varOutputs    = "outputs"
	varSteps      = "steps"
	varSecrets    = "secrets"
	// varEvent is a trigger's payload, read by its binding and when only.
	varEvent = "event"
)

// The fields of steps.<step>.
var statusFields = []string{"succeeded", "failed", "skipped"}

var (
	envOnce sync.Once
	celEnv  *cel.Env
	envErr  error
)

// env is the one CEL environment every expression is compiled in.
func env() (*cel.Env, error) {
	envOnce.Do(func() {
		dynMap := cel.MapType(cel.StringType, cel.DynType)
		opts := []cel.EnvOption{
			cel.Variable(varParameters, dynMap),
			cel.Variable(varOutputs, cel.MapType(cel.StringType, dynMap)),
			cel.Variable(varSteps, cel.MapType(cel.StringType, cel.MapType(cel.StringType, cel.BoolType))),
			cel.Variable(varSecrets, cel.MapType(cel.StringType, cel.StringType)),
			cel.Variable(varEvent, cel.DynType),
			cel.ParserExpressionSizeLimit(MaxExprLen),
			cel.ParserRecursionLimit(64),
		}
		celEnv, envErr = cel.NewEnv(append(opts, functions()...)...)
	})
	return celEnv, envErr
}

// expr is one compiled expression and what it refers to.
type expr struct {
	src  string
	prg  cel.Program
	refs []ref_
	// secret is whether it reads a secret: its errors then say nothing a value could leak through.
	secret bool
	// boolish is whether its type may be a boolean (bool or dyn), for when entries.
	boolish bool
}

// ref_ is one reference to a variable: parameters.P, outputs.S.N, steps.S.F or secrets.X. Keys holds the
// literal keys after the variable, as far as they are literal.
type ref_ struct {
	root string
	keys []string
}

// compileExpr parses, checks and plans src. Errors are short, for messages that name the field.
func compileExpr(src string) (*expr, error) {
	e, err := env()
	if err != nil {
		return nil, fmt.Errorf("expression environment: %w", err)
	}
	if len([]rune(src)) > MaxExprLen {
		return nil, fmt.Errorf("expression longer than %d characters", MaxExprLen)
	}
	a, iss := e.Compile(src)
	if iss != nil && iss.Err() != nil {
		msg := oneLine(iss.Err().Error())
		if strings.Contains(msg, "undeclared reference") {
			msg += " (expressions read parameters, outputs, steps and secrets; a trigger's, event)"
		}
		return nil, fmt.Errorf("expression %q does not compile: %s", short(src), msg)
	}
	refs, err := references(a.NativeRep())
	if err != nil {
		return nil, fmt.Errorf("expression %q: %w", short(src), err)
	}
	prg, err := e.Program(a, cel.CostLimit(CostLimit))
	if err != nil {
		return nil, fmt.Errorf("expression %q: %s", short(src), oneLine(err.Error()))
	}
	t := a.OutputType()
	x := &expr{src: src, prg: prg, refs: refs, boolish: t.IsExactType(cel.BoolType) || t.IsExactType(cel.DynType)}
	for _, r := range refs {
		x.secret = x.secret || r.root == varSecrets
	}
	return x, nil
}

// references lists every use of the workflow's variables in a, refusing uses the engine could not follow: a
// step's outputs or status, or a secret, must be named by a literal (outputs.build.x, not outputs[p.s].x), so the
// order of steps and the secrets a step needs are known before the run.
func references(a *celast.AST) ([]ref_, error) {
	var out []ref_
	for _, id := range celast.MatchDescendants(celast.NavigateAST(a), celast.KindMatcher(celast.IdentKind)) {
		r := ref_{root: id.AsIdent()}
		switch r.root {
		case varParameters, varOutputs, varSteps, varSecrets, varEvent:
		default:
			continue
		}
		cur := id
		for {
			p, ok := cur.Parent()
			if !ok {
				break
			}
			k, ok := literalKey(p, cur)
			if !ok {
				break
			}
			r.keys = append(r.keys, k)
			cur = p
		}
		need := map[string]int{varOutputs: 2, varSteps: 2, varSecrets: 1}[r.root]
		if len(r.keys) < need {
			what := map[string]string{varOutputs: "outputs.<step>.<name>", varSteps: "steps.<step>.<status>",
				varSecrets: "secrets.<name>"}[r.root]
			return nil, fmt.Errorf("%s must be used as %s with literal names", r.root, what)
		}
		out = append(out, r)
	}
	return out, nil
}

// literalKey returns the key p selects from its child c when p is c.name or c["name"].
func literalKey(p, c celast.NavigableExpr) (string, bool) {
	switch p.Kind() {
	case celast.SelectKind:
		return p.AsSelect().FieldName(), true
	case celast.CallKind:
		call := p.AsCall()
		args := call.Args()
		if call.FunctionName() != "_[_]" || len(args) != 2 || args[0].ID() != c.ID() {
			return "", false
		}
		if args[1].Kind() != celast.LiteralKind {
			return "", false
		}
		s, ok := args[1].AsLiteral().(types.String)
		return string(s), ok
	}
	return "", false
}

// errCost is an evaluation stopped by CostLimit.
var errCost = errors.New("expression is too costly to evaluate")

// eval runs x over vars and returns its value as JSON-like Go data (see native).
func (x *expr) eval(vars map[string]any) (any, error) {
	v, _, err := x.prg.Eval(vars)
	if err != nil {
		if isCostError(err) {
			return nil, fmt.Errorf("expression %q: %w (limit %d)", short(x.src), errCost, CostLimit)
		}
		if x.secret {
			return nil, fmt.Errorf("expression %q failed (it reads a secret: no details)", short(x.src))
		}
		return nil, fmt.Errorf("expression %q: %s", short(x.src), oneLine(err.Error()))
	}
	out, err := native(v, 0)
	if err != nil {
		if x.secret {
			return nil, fmt.Errorf("expression %q failed (it reads a secret: no details)", short(x.src))
		}
		return nil, fmt.Errorf("expression %q: %w", short(x.src), err)
	}
	return out, nil
}

func isCostError(err error) bool {
	return strings.Contains(err.Error(), "cost limit exceeded")
}

// evalBool runs a when entry.
func (x *expr) evalBool(vars map[string]any) (bool, error) {
	v, err := x.eval(vars)
	if err != nil {
		return false, err
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("expression %q is %s, not a boolean", short(x.src), kindOf(v))
	}
	return b, nil
}
