package api

import (
	"math"
	"math/big"
	"regexp"
)

// TaskResources bound what each of a task's jobs may use, in every executor: the local one enforces the limits
// (cgroups or podman), the Kubernetes one sets them on the job's pod. It is spelled as kubernetes.resources is:
// {"requests": {...}, "limits": {...}} with Kubernetes quantities, and knows three resources: cpu, memory and pids
// (the most processes and threads at once, a plain integer, a limit only; a pod has no such setting).
type TaskResources ResourceRequirements

// Resources a task's resources may name.
const (
	ResourceCPU    = "cpu"
	ResourceMemory = "memory"
	ResourcePids   = "pids"
)

const taskResourceNames = "want cpu, memory or pids"

// pidsRe is a plain count of processes: no fraction, exponent or suffix.
var pidsRe = regexp.MustCompile(`^[0-9]{1,18}$`)

// UnmarshalJSON reads resources as ResourceRequirements does, naming fields as resources.<field>.
func (r *TaskResources) UnmarshalJSON(b []byte) error {
	return (*ResourceRequirements)(r).unmarshal(b, "resources")
}

// IsZero reports whether r sets nothing: a task with it runs like one without.
func (r *TaskResources) IsZero() bool {
	return r == nil || (len(r.Requests) == 0 && len(r.Limits) == 0)
}

// Validate checks r with the rules of kubernetes.resources, restricted to cpu, memory and pids, and makes sure
// every limit can be enforced: above zero (zero would read as no limit) and within what a 64-bit count holds.
// Messages name the field as resources.<field>.
func (r *TaskResources) Validate() error {
	if r == nil {
		return nil
	}
	known := func(n string) bool { return n == ResourceCPU || n == ResourceMemory || n == ResourcePids }
	if err := (*ResourceRequirements)(r).validate("resources", known, taskResourceNames); err != nil {
		return err
	}
	if _, ok := r.Requests[ResourcePids]; ok {
		return Invalidf("resources.requests.pids: pids is a limit only: set it under resources.limits")
	}
	for _, name := range sortedKeys(r.Limits) {
		q := r.Limits[name]
		if name == ResourcePids && !pidsRe.MatchString(q) {
			return Invalidf("resources.limits.pids: %q is not a whole number of processes such as 256", clip(q))
		}
		v, _ := parseQuantity(q)
		if v.Sign() == 0 {
			return Invalidf("resources.limits.%s: must be more than 0 (leave it out for no limit)", name)
		}
		if _, ok := scaled(v, limitScale(name)); !ok {
			return Invalidf("resources.limits.%s: %q is too large", name, clip(q))
		}
	}
	return nil
}

// limitScale is what a limit of resource name is counted in: millicores for cpu, bytes and processes otherwise.
func limitScale(name string) int64 {
	if name == ResourceCPU {
		return 1000
	}
	return 1
}

// LimitValue is limits[name] as a whole number, rounded up: millicores for cpu (0.5 is 500), bytes for memory,
// processes for pids. It is 0 when the limit is absent, 0 or not a quantity, and math.MaxInt64 when larger.
func (r *ResourceRequirements) LimitValue(name string) int64 {
	if r == nil {
		return 0
	}
	q, ok := r.Limits[name]
	if !ok {
		return 0
	}
	v, ok := parseQuantity(q)
	if !ok {
		return 0
	}
	n, ok := scaled(v, limitScale(name))
	if !ok {
		return math.MaxInt64
	}
	return n
}

// scaled is v × scale rounded up to a whole number; ok is false if it does not fit in an int64.
func scaled(v *big.Rat, scale int64) (int64, bool) {
	x := new(big.Rat).Mul(v, new(big.Rat).SetInt64(scale))
	q, rem := new(big.Int).QuoRem(x.Num(), x.Denom(), new(big.Int))
	if rem.Sign() > 0 {
		q.Add(q, big.NewInt(1))
	}
	if !q.IsInt64() {
		return 0, false
	}
	return q.Int64(), true
}
