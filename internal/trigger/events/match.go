package events

import (
	"encoding/json"
	"regexp"
	"sync"

	"github.com/runplane/runplane/api"
)

// Document is an event as rules see it, for JSONPaths: the CloudEvent's attributes (id, source, type,
// specversion, subject, time, datacontenttype, dataschema), its extensions beside them (shkeptncontext,
// gitcommitid, ...) and data decoded from JSON (or the raw string when it is not JSON). Keptn's $.data.x and
// $.shkeptncontext read the same here.
func Document(e api.Event) map[string]any {
	doc := make(map[string]any, len(e.Extensions)+9)
	for k, v := range e.Extensions {
		doc[k] = v
	}
	doc["id"], doc["source"], doc["type"], doc["specversion"] = e.ID, e.Source, e.Type, e.SpecVersion
	if e.Subject != "" {
		doc["subject"] = e.Subject
	}
	if e.Time != nil {
		doc["time"] = e.Time.Format("2006-01-02T15:04:05.999999999Z07:00")
	}
	if e.DataContentType != "" {
		doc["datacontenttype"] = e.DataContentType
	}
	if e.DataSchema != "" {
		doc["dataschema"] = e.DataSchema
	}
	if len(e.Data) > 0 {
		var data any
		if err := json.Unmarshal(e.Data, &data); err == nil {
			doc["data"] = data
		}
	}
	return doc
}

// EventMatches reports whether an action's event entry matches an event of type typ: its name, a regular
// expression, is found in the type (unanchored, as Keptn's regexp.MatchString) and, when a JSONPath property is
// set, the event has exactly the string Match there. A pattern or path that does not compile matches nothing.
func EventMatches(e api.KeptnEvent, typ string, doc map[string]any) bool {
	re, err := compiled(e.Name)
	if err != nil || !re.MatchString(typ) {
		return false
	}
	if e.JSONPath.Property == "" {
		return true
	}
	p, err := ParsePath(e.JSONPath.Property)
	if err != nil {
		return false
	}
	v, err := p.Get(doc)
	if err != nil {
		return false
	}
	s, isString := v.(string)
	return isString && s == e.JSONPath.Match
}

// ActionMatches reports whether any of a's event entries matches.
func ActionMatches(a api.KeptnAction, typ string, doc map[string]any) bool {
	for _, e := range a.Events {
		if EventMatches(e, typ, doc) {
			return true
		}
	}
	return false
}

// Match returns the indexes of r's actions that handle an event, in order. Like Keptn's job-executor, actions
// are scanned in order and the first matching action that is not silent ends the scan (silent matches before it
// run too); with Multiple every matching action runs.
func Match(r api.EventRules, typ string, doc map[string]any) []int {
	var out []int
	for i, a := range r.Actions {
		if !ActionMatches(a, typ, doc) {
			continue
		}
		out = append(out, i)
		if !a.Silent && !r.Multiple {
			break
		}
	}
	return out
}

// patterns caches compiled event-name patterns: every event is matched against every rule set's, and compiling
// them each time was most of the matching's cost. It is emptied when it grows past maxPatterns (rule sets that
// came and went).
var patterns struct {
	sync.Mutex
	m map[string]*regexp.Regexp
}

const maxPatterns = 4096

func compiled(pattern string) (*regexp.Regexp, error) {
	patterns.Lock()
	re, ok := patterns.m[pattern]
	patterns.Unlock()
	if ok {
		return re, nil
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, err
	}
	patterns.Lock()
	defer patterns.Unlock()
	if patterns.m == nil || len(patterns.m) >= maxPatterns {
		patterns.m = make(map[string]*regexp.Regexp)
	}
	patterns.m[pattern] = re
	return re, nil
}
