package workflow

import (
	"errors"
	"strings"
	"testing"

	"github.com/runplane/runplane/api"
)

func TestDataTag(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"key", "title", `${event.title}`},
		{"path", "report.host", `${event.report.host}`},
		{"index", "assignments[0].assigneeID", `${event.assignments[0].assigneeID}`},
		{"quoted", `"['a b'].c"`, `${event["a b"].c}`},
		{"dash", "event-type", `${event["event-type"]}`},
		{"reserved", "in", `${event["in"]}`},
		{"mapping form", "{query: x.y}", `${event.x.y}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := "triggers:\n- binding:\n    parameters:\n      x: !Data " + tt.yaml + "\n"
			c := &converter{}
			v, err := parseValue(c, doc)
			if err != nil {
				t.Fatalf("convert(%q): %v", doc, err)
			}
			got := v.(map[string]any)["triggers"].([]any)[0].(map[string]any)["binding"].(map[string]any)["parameters"].(map[string]any)["x"]
			if got != tt.want {
				t.Errorf("!Data %s = %v, want %s", tt.yaml, got, tt.want)
			}
		})
	}
}

func TestTriggerErrors(t *testing.T) {
	const steps = "steps:\n- name: a\n  image: x\n"
	const params = "parameters: {p: {default: x}}\n"
	tests := []struct {
		name, doc, want string
	}{
		{"not a list", steps + "triggers: {}\n", "triggers must be a list"},
		{"not a mapping", steps + "triggers: [x]\n", "triggers[0]: a trigger must be a mapping"},
		{"unknown field", steps + "triggers:\n- name: t\n  source: {type: push}\n  bindings: {}\n", `triggers[0].bindings: unknown field "bindings"`},
		{"unknown source field", steps + "triggers:\n- name: t\n  source: {type: push, url: x}\n", `unknown field "url"`},
		{"unknown type", steps + "triggers:\n- name: t\n  source: {type: cron}\n", `triggers[0] "t".source.type: unknown trigger type "cron": want schedule, webhook, push or event`},
		{"no type", steps + "triggers:\n- name: t\n  source: {}\n", `source.type: required`},
		{"no name", steps + "triggers:\n- source: {type: push}\n", `triggers[0].name: name is required`},
		{"bad name", steps + "triggers:\n- name: Hook\n  source: {type: push}\n", `triggers[0].name: name "Hook"`},
		{"duplicate", steps + "triggers:\n- {name: t, source: {type: push}}\n- {name: t, source: {type: push}}\n", `triggers[1].name: "t" is used by another trigger too`},
		{"no schedule", steps + "triggers:\n- {name: t, source: {type: schedule}}\n", `source.schedule: a schedule trigger needs a schedule`},
		{"field of another type", steps + "triggers:\n- {name: t, source: {type: webhook, schedule: '* * * * *'}}\n", `source.schedule: a webhook trigger has no schedule`},
		{"unknown scheme", steps + "triggers:\n- {name: t, source: {type: webhook, scheme: md5}}\n", `source.scheme: unknown scheme "md5"`},
		{"event without type", steps + "triggers:\n- {name: t, source: {type: event}}\n", `source.event: an event trigger needs event`},
		{"event bad regexp", steps + "triggers:\n- {name: t, source: {type: event, event: 'a('}}\n", `source.event: error parsing regexp`},
		{"binding does not compile", params + steps + "triggers:\n- name: t\n  source: {type: push}\n  binding: {parameters: {p: '${event.}'}}\n", `triggers[0] "t".binding.parameters.p: expression "event." does not compile`},
		{"binding unterminated", params + steps + "triggers:\n- name: t\n  source: {type: push}\n  binding: {parameters: {p: '${event.x'}}\n", `binding.parameters.p: "${" without its closing "}"`},
		{"binding reads parameters", params + steps + "triggers:\n- name: t\n  source: {type: push}\n  binding: {parameters: {p: '${parameters.p}'}}\n", `a trigger reads only its payload (event, or !Data), not parameters`},
		{"binding reads secrets", params + steps + "triggers:\n- name: t\n  source: {type: push}\n  binding: {parameters: {p: !Secret s}}\n", `not secrets`},
		{"binding unknown parameter", params + steps + "triggers:\n- name: t\n  source: {type: push}\n  binding: {parameters: {q: !Data q}}\n", `binding.parameters.q: unknown parameter "q": the parameters schema has "p"`},
		{"bad data query", params + steps + "triggers:\n- name: t\n  source: {type: push}\n  binding: {parameters: {p: !Data 'a[x]'}}\n", `!Data a[x]: [x]: want an index or a quoted name`},
		{"when not boolean", steps + "triggers:\n- name: t\n  source: {type: push}\n  when: '${event.x + 1}'\n", `triggers[0] "t".when[0]`},
		{"when reads outputs", steps + "triggers:\n- name: t\n  source: {type: push}\n  when: '${outputs.a.b}'\n", `not outputs`},
		{"data in a step", "steps:\n- name: a\n  image: x\n  spec: {x: !Data y}\n", `!Data reads a trigger's payload`},
		{"event in a step", "steps:\n- name: a\n  image: x\n  spec: {x: '${event.y}'}\n", `event is a trigger's payload`},
		{"name too long", "name: " + strings.Repeat("w", 40) + "\n" + steps + "triggers:\n- {name: " + strings.Repeat("t", 30) + ", source: {type: push}}\n", `longer than 63 characters`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := Parse([]byte(tt.doc))
			if err == nil {
				if w.Name == "" {
					w.Name = "w"
				}
				_, err = Compile(w)
			}
			var ie *api.InvalidError
			if !errors.As(err, &ie) {
				t.Fatalf("Parse+Compile(%q) = %v, want an *api.InvalidError", tt.doc, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse+Compile(%q) = %q, want it to contain %q", tt.doc, err, tt.want)
			}
		})
	}
}

func TestBind(t *testing.T) {
	const doc = `version: v1
parameters:
  id: {default: none}
  title: {default: ""}
  n: {default: 0}
  whole: {}
triggers:
- name: hook
  source: {type: webhook, image: relaysh/stdlib-trigger-json}
  when: ${event.environment == 'production'}
  binding:
    parameters:
      id: !Data incident.id
      title: "#${event.incident.id}: ${event.title}"
      n: !Fn.concat [!Data title, "!"]
      whole: !Data incident
- name: plain
  source: {type: schedule, schedule: '@hourly'}
steps:
- {name: a, image: x}
`
	p, err := Compile(mustParse(t, doc))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, trigger, payload string
		want, skip, err        string
	}{
		{"bound", "hook", `{"environment":"production","title":"disk full","incident":{"id":42}}`,
			`{"id":42,"n":"disk full!","title":"#42: disk full","whole":{"id":42}}`, "", ""},
		{"when false", "hook", `{"environment":"dev","title":"x","incident":{"id":1}}`,
			"", `triggers[0] "hook".when[0] is false: ${event.environment == 'production'}`, ""},
		{"missing key", "hook", `{"environment":"production","title":"x"}`,
			"", "", `triggers[0] "hook".binding.parameters.id: expression "event.incident.id"`},
		{"when on missing key", "hook", `{}`, "", "", `triggers[0] "hook".when[0]: expression`},
		{"payload not an object", "hook", `[1]`, "", "", `triggers[0] "hook".when[0]`},
		{"not JSON", "hook", `{`, "", "", `the payload is not JSON`},
		{"no binding", "plain", `{"scheduled_time":"2026-12-07T10:00:00Z"}`, "", "", ""},
		{"unknown trigger", "nope", `{}`, "", "", `has no trigger "nope"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := p.Bind(tt.trigger, []byte(tt.payload))
			if tt.err != "" {
				var ie *api.InvalidError
				if !errors.As(err, &ie) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Bind(%s, %s) = %v, want an *api.InvalidError containing %q", tt.trigger, tt.payload, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Bind(%s, %s): %v", tt.trigger, tt.payload, err)
			}
			if string(b.Parameters) != tt.want || b.Skip != tt.skip {
				t.Errorf("Bind(%s, %s) = %s, skip %q; want %s, skip %q", tt.trigger, tt.payload, b.Parameters, b.Skip, tt.want, tt.skip)
			}
		})
	}
}
