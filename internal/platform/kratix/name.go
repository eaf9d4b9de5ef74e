package kratix

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// maxName is the longest name runplane takes for a workflow (api.ValidateName).
const maxName = 63

// WorkflowName is a name for the workflow of t, as Kratix names a pipeline's job:
// "kratix-<promise>-<action>" for a promise workflow, "kratix-<promise>-<namespace>-<name>-<action>" for a
// request's (its namespace left out when it has none), and pipeline, when set, appended (BuildPipeline's runs). A
// name longer than 63 characters is cut and ends with "-" and 5 hex digits of a hash of the whole, so distinct
// targets keep distinct names.
func WorkflowName(t Target, pipeline string) string {
	parts := []string{"kratix", t.Promise}
	if t.Type == TypeResource {
		if t.Namespace != "" {
			parts = append(parts, t.Namespace)
		}
		parts = append(parts, t.Name)
	}
	parts = append(parts, string(t.Action))
	if pipeline != "" {
		parts = append(parts, pipeline)
	}
	name := strings.ToLower(strings.Join(parts, "-"))
	if len(name) <= maxName {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	return strings.TrimRight(name[:maxName-6], "-._") + "-" + hex.EncodeToString(sum[:])[:5]
}
