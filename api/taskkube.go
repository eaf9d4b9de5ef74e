package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// TaskKubernetes places a task's jobs on a Kubernetes cluster and sizes them; the local executor ignores it. The
// fields are spelled as in a pod spec, so they can be pasted from one.
type TaskKubernetes struct {
	Resources      *ResourceRequirements `json:"resources,omitempty"`
	ServiceAccount string                `json:"serviceAccount,omitempty"`
	// ServiceAccountToken mounts ServiceAccount's API token into the pod. Only the pipelines of a promise that
	// asked for rbac (a service account or permissions) get it: tasks and saved workflows cannot set it
	// (ErrTokenNotAllowed), so every other job runs without a token, whatever account it names.
	ServiceAccountToken bool              `json:"serviceAccountToken,omitempty"`
	NodeSelector        map[string]string `json:"nodeSelector,omitempty"`
	Tolerations         []Toleration      `json:"tolerations,omitempty"`
	ImagePullSecrets    []string          `json:"imagePullSecrets,omitempty"` // names of Secrets in the job namespace
	ImagePullPolicy     string            `json:"imagePullPolicy,omitempty"`  // Always, IfNotPresent or Never
	// Volumes are the pod's volumes ([]corev1.Volume, as written) its containers' kubernetes.volumeMounts name (a
	// Kratix pipeline's spec.volumes).
	Volumes json.RawMessage `json:"volumes,omitempty"`
}

// ResourceRequirements are a job container's requests and limits, such as {"cpu": "100m", "memory": "64Mi"}.
// Quantities may also be JSON numbers ({"cpu": 0.5}), as Kubernetes accepts them; they are kept as text.
type ResourceRequirements struct {
	Requests map[string]string `json:"requests,omitempty"`
	Limits   map[string]string `json:"limits,omitempty"`
}

// Toleration lets a job's pod run on nodes with a matching taint.
type Toleration struct {
	Key               string `json:"key,omitempty"`
	Operator          string `json:"operator,omitempty"` // Exists or Equal (the default)
	Value             string `json:"value,omitempty"`
	Effect            string `json:"effect,omitempty"` // NoSchedule, PreferNoSchedule, NoExecute or "" (all)
	TolerationSeconds *int64 `json:"tolerationSeconds,omitempty"`
}

// Bounds TaskKubernetes.Validate enforces, beyond Kubernetes' own syntax.
const (
	maxKubeEntries  = 64 // node selector labels, tolerations, resources per list
	maxPullSecrets  = 32
	maxQuantityLen  = 64
	kubePathPrefix  = "kubernetes."
	quantityExample = `such as "100m", "0.5" or "64Mi"`
)

// Pull policies a task may name.
const (
	PullAlways       = "Always"
	PullIfNotPresent = "IfNotPresent"
	PullNever        = "Never"
)

// CheckNoToken refuses k if it asks for a service account token, which only a promise's pipelines get (the
// account's rights are the promise's to grant). field is where k is, as "kubernetes" or "steps[0].kubernetes".
func (k *TaskKubernetes) CheckNoToken(field string) error {
	if k != nil && k.ServiceAccountToken {
		return Invalidf("%s.serviceAccountToken: only the pipelines of a promise with rbac get a service account token", field)
	}
	return nil
}

// IsZero reports whether k sets nothing: a task with it runs like one without.
func (k *TaskKubernetes) IsZero() bool {
	return k == nil || ((k.Resources == nil || (len(k.Resources.Requests) == 0 && len(k.Resources.Limits) == 0)) &&
		k.ServiceAccount == "" && !k.ServiceAccountToken && len(k.NodeSelector) == 0 && len(k.Tolerations) == 0 &&
		len(k.ImagePullSecrets) == 0 && k.ImagePullPolicy == "" && len(k.Volumes) == 0)
}

// Validate checks k with the rules the Kubernetes API server applies to the same pod fields, so that a mistake is
// refused when the task is saved rather than failing its jobs later. Messages name the field as
// kubernetes.<field>.
func (k *TaskKubernetes) Validate() error {
	if k == nil {
		return nil
	}
	if r := k.Resources; r != nil {
		if err := r.validate(kubePathPrefix+"resources", isResourceName, kubeResourceNames); err != nil {
			return err
		}
	}
	if k.ServiceAccount != "" && !isDNSSubdomain(k.ServiceAccount) {
		return Invalidf("kubernetes.serviceAccount %q: want a DNS-1123 name: lowercase letters, digits, '-' and '.', at most 253 characters", clip(k.ServiceAccount))
	}
	if k.ServiceAccountToken && k.ServiceAccount == "" {
		return Invalidf("kubernetes.serviceAccountToken: needs kubernetes.serviceAccount")
	}
	if len(k.NodeSelector) > maxKubeEntries {
		return Invalidf("kubernetes.nodeSelector: %d labels, want at most %d", len(k.NodeSelector), maxKubeEntries)
	}
	for _, key := range sortedKeys(k.NodeSelector) {
		if err := labelKeyError(key); err != "" {
			return Invalidf("kubernetes.nodeSelector: label key %q: %s", clip(key), err)
		}
		if v := k.NodeSelector[key]; !isLabelValue(v) {
			return Invalidf("kubernetes.nodeSelector.%s: value %q: %s", key, clip(v), labelValueRule)
		}
	}
	if len(k.Tolerations) > maxKubeEntries {
		return Invalidf("kubernetes.tolerations: %d tolerations, want at most %d", len(k.Tolerations), maxKubeEntries)
	}
	for i, t := range k.Tolerations {
		if err := t.validate(); err != "" {
			return Invalidf("kubernetes.tolerations[%d]: %s", i, err)
		}
	}
	if len(k.ImagePullSecrets) > maxPullSecrets {
		return Invalidf("kubernetes.imagePullSecrets: %d secrets, want at most %d", len(k.ImagePullSecrets), maxPullSecrets)
	}
	for i, s := range k.ImagePullSecrets {
		if !isDNSSubdomain(s) {
			return Invalidf("kubernetes.imagePullSecrets[%d] %q: want the name of a Secret: lowercase letters, digits, '-' and '.', at most 253 characters", i, clip(s))
		}
	}
	switch k.ImagePullPolicy {
	case "", PullAlways, PullIfNotPresent, PullNever:
	default:
		return Invalidf("kubernetes.imagePullPolicy %q: want Always, IfNotPresent or Never", clip(k.ImagePullPolicy))
	}
	return validateVolumes(k.Volumes)
}

func (t Toleration) validate() string {
	if t.Key != "" {
		if err := labelKeyError(t.Key); err != "" {
			return fmt.Sprintf("key %q: %s", clip(t.Key), err)
		}
	}
	switch t.Operator {
	case "", "Equal":
		if t.Key == "" {
			return `an empty key matches every taint only with operator "Exists"`
		}
		if !isLabelValue(t.Value) {
			return fmt.Sprintf("value %q: %s", clip(t.Value), labelValueRule)
		}
	case "Exists":
		if t.Value != "" {
			return `operator "Exists" takes no value`
		}
	default:
		return fmt.Sprintf("operator %q: want Exists or Equal", clip(t.Operator))
	}
	switch t.Effect {
	case "", "NoSchedule", "PreferNoSchedule":
		if t.TolerationSeconds != nil {
			return `tolerationSeconds needs effect "NoExecute"`
		}
	case "NoExecute":
	default:
		return fmt.Sprintf("effect %q: want NoSchedule, PreferNoSchedule, NoExecute or none (every effect)", clip(t.Effect))
	}
	return ""
}

// kubeResourceNames says which names kubernetes.resources accepts.
const kubeResourceNames = "want cpu, memory, ephemeral-storage, hugepages-<size> or a domain-prefixed name such as nvidia.com/gpu"

// validate checks r's names with nameOK (a refused one is explained by nameRule) and its quantities, naming fields
// from path ("kubernetes.resources" or "resources").
func (r *ResourceRequirements) validate(path string, nameOK func(string) bool, nameRule string) error {
	lists := []struct {
		name string
		m    map[string]string
	}{{"requests", r.Requests}, {"limits", r.Limits}}
	for _, l := range lists {
		if len(l.m) > maxKubeEntries {
			return Invalidf("%s.%s: %d resources, want at most %d", path, l.name, len(l.m), maxKubeEntries)
		}
		for _, name := range sortedKeys(l.m) {
			if !nameOK(name) {
				return Invalidf("%s.%s: resource %q: %s", path, l.name, clip(name), nameRule)
			}
			if _, ok := parseQuantity(l.m[name]); !ok {
				return Invalidf("%s.%s.%s: %q is not a quantity %s", path, l.name, name, clip(l.m[name]), quantityExample)
			}
		}
	}
	for _, name := range sortedKeys(r.Requests) {
		lim, ok := r.Limits[name]
		if !ok {
			continue
		}
		req, _ := parseQuantity(r.Requests[name])
		max, _ := parseQuantity(lim)
		if req.Cmp(max) > 0 {
			return Invalidf("%s: requests.%s %s is more than limits.%s %s", path, name, r.Requests[name], name, lim)
		}
	}
	return nil
}

// UnmarshalJSON reads {"requests": {...}, "limits": {...}}, taking numbers as quantities too ({"cpu": 1} as pasted
// from a pod spec in YAML). Other fields are errors: a misspelt "request" must not silently drop the limits.
func (r *ResourceRequirements) UnmarshalJSON(b []byte) error {
	return r.unmarshal(b, kubePathPrefix+"resources")
}

// unmarshal is UnmarshalJSON with errors naming the field from path.
func (r *ResourceRequirements) unmarshal(b []byte, path string) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return fmt.Errorf("%s: want an object with requests and limits", path)
	}
	var out ResourceRequirements
	for _, name := range sortedKeys(fields) {
		var dst *map[string]string
		switch name {
		case "requests":
			dst = &out.Requests
		case "limits":
			dst = &out.Limits
		default:
			return fmt.Errorf("%s: unknown field %q: want requests or limits", path, clip(name))
		}
		m, err := quantities(fields[name])
		if err != nil {
			return fmt.Errorf("%s.%s%s", path, name, err)
		}
		*dst = m
	}
	*r = out
	return nil
}

// quantities reads one resource list; errors start with the rest of the path (".cpu: ...") or ": ".
func quantities(raw json.RawMessage) (map[string]string, error) {
	var items map[string]json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, errors.New(`: want an object such as {"cpu": "100m", "memory": "64Mi"}`)
	}
	if items == nil {
		return nil, nil
	}
	out := make(map[string]string, len(items))
	for _, name := range sortedKeys(items) {
		v := items[name]
		var s string
		switch {
		case json.Unmarshal(v, &s) == nil && len(v) > 0 && v[0] == '"':
		case len(v) > 0 && (v[0] == '-' || (v[0] >= '0' && v[0] <= '9')):
			s = string(v)
		default:
			return nil, fmt.Errorf(".%s: want a quantity %s", clip(name), quantityExample)
		}
		out[name] = s
	}
	return out, nil
}

var (
	// quantityRe is Kubernetes' quantity syntax without a sign (requests and limits are never negative), with an
	// exponent of at most two digits so that comparing quantities stays cheap.
	quantityRe     = regexp.MustCompile(`^([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]{1,2})?$`)
	dnsLabelRe     = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	qualifiedRe    = regexp.MustCompile(`^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$`)
	labelValueRule = "want at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit"
)

// parseQuantity returns q's value; ok is false when q is not a quantity.
func parseQuantity(q string) (*big.Rat, bool) {
	if len(q) > maxQuantityLen {
		return nil, false
	}
	m := quantityRe.FindStringSubmatch(q)
	if m == nil {
		return nil, false
	}
	num := m[1]
	if strings.HasPrefix(num, ".") {
		num = "0" + num
	}
	num = strings.TrimSuffix(num, ".")
	v, ok := new(big.Rat).SetString(num)
	if !ok {
		return nil, false
	}
	suffix := m[2]
	pow := func(base, exp int64) *big.Rat {
		return new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(base), big.NewInt(exp), nil))
	}
	var scale *big.Rat
	switch suffix {
	case "":
		return v, true
	case "Ki", "Mi", "Gi", "Ti", "Pi", "Ei":
		scale = pow(1024, int64(strings.Index("KMGTPE", suffix[:1])+1))
	case "n", "u", "m":
		scale = new(big.Rat).Inv(pow(1000, int64(3-strings.Index("num", suffix))))
	case "k", "M", "G", "T", "P", "E":
		scale = pow(1000, int64(strings.Index("kMGTPE", suffix)+1))
	default: // an exponent
		exp, _ := strconv.ParseInt(suffix[1:], 10, 64) // at most two digits: the regexp says so
		if exp < 0 {
			scale = new(big.Rat).Inv(pow(10, -exp))
		} else {
			scale = pow(10, exp)
		}
	}
	return v.Mul(v, scale), true
}

// isResourceName: a standard resource, or an extended one named with a domain prefix (example.com/gpu).
func isResourceName(n string) bool {
	switch n {
	case "cpu", "memory", "ephemeral-storage":
		return true
	}
	if size, ok := strings.CutPrefix(n, "hugepages-"); ok {
		_, valid := parseQuantity(size)
		return valid
	}
	return strings.Contains(n, "/") && labelKeyError(n) == ""
}

// labelKeyError checks a label key ([prefix/]name) and says what is wrong, or "".
func labelKeyError(k string) string {
	prefix, name, hasPrefix := strings.Cut(k, "/")
	if !hasPrefix {
		name, prefix = prefix, ""
	}
	if hasPrefix && !isDNSSubdomain(prefix) {
		return "the prefix before '/' must be a DNS subdomain such as example.com"
	}
	if len(name) > 63 || !qualifiedRe.MatchString(name) {
		return "want at most 63 letters, digits, '-', '_' and '.' (after an optional example.com/ prefix), starting and ending with a letter or digit"
	}
	return ""
}

func isLabelValue(v string) bool {
	return v == "" || (len(v) <= 63 && qualifiedRe.MatchString(v))
}

// isDNSSubdomain: lowercase DNS labels joined by '.', at most 253 characters (RFC 1123 as Kubernetes has it).
func isDNSSubdomain(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if len(label) > 63 || !dnsLabelRe.MatchString(label) {
			return false
		}
	}
	return true
}

// clip shortens what a message quotes back.
func clip(s string) string {
	if len(s) > 100 {
		return s[:100] + "..."
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
