package api

// Networks a task's jobs may ask for (Task.Network). What each means depends on the executor; README's
// "Networks" section says, for each, what a job can reach.
const (
	// NetworkNone: no network at all, only the job's own loopback (the default: "" means the same). The podman
	// executor gives the container none; the Kubernetes executor cannot take a pod's network away (use a
	// NetworkPolicy) and runs it on the pod network; the local executor shares the host's.
	NetworkNone = "none"
	// NetworkPrivate: a network namespace of the job's own behind NAT, the job's way out without the host's
	// loopback or interfaces (podman's default bridge; a Kubernetes pod's own network).
	NetworkPrivate = "private"
	// NetworkHost: the host's network, its loopback included (podman --network host; Kubernetes hostNetwork).
	NetworkHost = "host"
)

// ValidateNetwork checks a task's network: "", none, private or host.
func ValidateNetwork(n string) error {
	switch n {
	case "", NetworkNone, NetworkPrivate, NetworkHost:
		return nil
	}
	if len(n) > 20 {
		n = n[:20] + "..."
	}
	return Invalidf("network %q: want none, private or host", n)
}
