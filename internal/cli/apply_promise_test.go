package cli_test

import (
	"strings"
	"testing"
	"time"
)

// kratixPromise is a promise file as Kratix's marketplace writes one, unchanged: runplane reads it as it is.
const kratixPromise = `apiVersion: platform.kratix.io/v1alpha1
kind: Promise
metadata:
  name: redis
  labels:
    kratix.io/promise-version: v0.1.0
spec:
  destinationSelectors:
    - matchLabels:
        environment: dev
  api:
    apiVersion: apiextensions.k8s.io/v1
    kind: CustomResourceDefinition
    metadata:
      name: redis.marketplace.kratix.io
    spec:
      group: marketplace.kratix.io
      names:
        kind: redis
        plural: redis
        singular: redis
      scope: Namespaced
      versions:
        - name: v1alpha1
          schema:
            openAPIV3Schema:
              properties:
                spec:
                  properties:
                    size:
                      default: small
                      description: |
                        Size of this Redis deployment. If small, it deploy redis with a single replica; if large, deploy redis with 3 replicas.
                      pattern: ^(small|large)$
                      type: string
                  type: object
              type: object
          served: true
          storage: true
  workflows:
    resource:
      configure:
        - apiVersion: platform.kratix.io/v1alpha1
          kind: Pipeline
          metadata:
            name: instance-configure
            namespace: default
          spec:
            containers:
              - image: ghcr.io/syntasso/kratix-marketplace/redis-configure-pipeline:v0.1.0
                name: redis-configure-pipeline
`

// kratixRequest is a request written for Kratix (kubectl apply -f).
const kratixRequest = `apiVersion: marketplace.kratix.io/v1alpha1
kind: redis
metadata:
  name: example
  namespace: default
spec:
  size: small
`

// TestApplyKratixPromise: `runplane apply -f` takes a Kratix promise file and a request file written for Kratix
// unchanged, through a real server: created, unchanged, configured, checked before anything is sent, listed by get
// and removed by delete -f.
func TestApplyKratixPromise(t *testing.T) {
	h := newHarness(t, true)
	dir := t.TempDir()
	promiseFile := write(t, dir, "promise.yaml", kratixPromise)
	requestFile := write(t, dir, "request.yaml", kratixRequest)

	if got, want := h.ok("", "apply", "-f", promiseFile, "--dry-run"), "promise/redis created (dry run)\n"; got != want {
		t.Errorf("apply --dry-run of the promise printed %q, want %q", got, want)
	}
	if out := h.fail("", "apply", "-f", requestFile); !strings.Contains(out, "no promise offers kind redis at apiVersion marketplace.kratix.io/v1alpha1") {
		t.Errorf("apply of a request before its promise printed %q", out)
	}
	if got, want := h.ok("", "apply", "-f", promiseFile), "promise/redis created\n"; got != want {
		t.Errorf("apply of the promise printed %q, want %q", got, want)
	}
	if got, want := h.ok("", "apply", "-f", promiseFile), "promise/redis unchanged\n"; got != want {
		t.Errorf("re-apply of the promise printed %q, want %q", got, want)
	}
	const ref = "redis.marketplace.kratix.io/example (namespace default)"
	if got, want := h.ok("", "apply", "-f", requestFile), ref+" created\n"; got != want {
		t.Errorf("apply of the request printed %q, want %q", got, want)
	}
	if got, want := h.ok("", "apply", "-f", requestFile), ref+" unchanged\n"; got != want {
		t.Errorf("re-apply of the request printed %q, want %q", got, want)
	}
	// Without the field that has a default: the stored request already has it, so nothing changes.
	noSize := strings.Replace(kratixRequest, "spec:\n  size: small\n", "spec: {}\n", 1)
	if got, want := h.ok(noSize, "apply", "-f", "-"), ref+" unchanged\n"; got != want {
		t.Errorf("apply of the request without its defaulted field printed %q, want %q", got, want)
	}
	large := strings.Replace(kratixRequest, "size: small", "size: large", 1)
	if got, want := h.ok(large, "apply", "-f", "-"), ref+" configured\n"; got != want {
		t.Errorf("apply of a changed request printed %q, want %q", got, want)
	}
	// Checked before anything is sent, with the field's path.
	bad := strings.Replace(kratixRequest, "size: small", "size: xl\n  colour: red", 1)
	out := h.fail(bad, "apply", "-f", "-")
	if !strings.Contains(out, `spec.colour: Invalid value: unknown field "spec.colour"`) || !strings.Contains(out, `spec.size: Invalid value: "xl": does not match pattern`) {
		t.Errorf("apply of a bad request printed %q", out)
	}

	if got := h.ok("", "get", "promises"); !strings.Contains(got, "redis") || !strings.Contains(got, "Available") ||
		!strings.Contains(got, "marketplace.kratix.io/v1alpha1") || !strings.Contains(got, "v0.1.0") {
		t.Errorf("get promises printed %q", got)
	}
	if got := h.ok("", "get", "resources", "redis"); !strings.Contains(got, "default") || !strings.Contains(got, "example") || !strings.Contains(got, "Pending") {
		t.Errorf("get resources redis printed %q", got)
	}
	if got := h.ok("", "get", "resources", "redis", "example", "-o", "json"); !strings.Contains(got, `"size": "large"`) {
		t.Errorf("get resources redis example -o json printed %q", got)
	}
	if out := h.fail("", "delete", "promise", "redis"); !strings.Contains(out, `promise "redis" has 1 resource request`) {
		t.Errorf("delete of a promise with a request printed %q", out)
	}
	if got, want := h.ok("", "delete", "-f", requestFile), ref+" deleted\n"; got != want {
		t.Errorf("delete -f request printed %q, want %q", got, want)
	}
	// The controller may finish the deletion after the answer (202, as kubectl's delete of an object with a
	// finalizer): the request is gone soon after.
	for deadline := time.Now().Add(30 * time.Second); strings.Contains(h.ok("", "get", "resources", "redis"), "example"); {
		if time.Now().After(deadline) {
			t.Fatal("request example still listed 30 s after its delete")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got, want := h.ok("", "delete", "promise", "redis"), "promise/redis deleted\n"; got != want {
		t.Errorf("delete promise printed %q, want %q", got, want)
	}

	// A promise and its request in one apply: the request finds the promise the files declare.
	both := write(t, dir, "both.yaml", kratixPromise+"---\n"+kratixRequest)
	if got, want := h.ok("", "apply", "-f", both), "promise/redis created\n"+ref+" created\n"; got != want {
		t.Errorf("apply of a promise and its request printed %q, want %q", got, want)
	}

	// A team allowed to request redis and nothing else applies the same request file.
	team := "kind: Group\nname: team\n---\nkind: User\nusername: ann\npassword: ann-password-1\ngroups: [team]\n" +
		"---\nkind: Role\nname: request-redis\nresource: resources\nresource_ids: [redis]\naccess: write\n" +
		"---\nkind: RoleBinding\nname: team-request-redis\nrole: request-redis\ngroup: team\n"
	h.ok(team, "apply", "-f", "-")
	h.ok("ann-password-1\n", "login", "--server", h.url, "-u", "ann", "--password-stdin")
	if got, want := h.ok(large, "apply", "-f", "-"), ref+" configured\n"; got != want {
		t.Errorf("apply as the redis team printed %q, want %q", got, want)
	}
	if out := h.fail(strings.Replace(kratixPromise, "v0.1.0", "v0.2.0", 1), "apply", "-f", "-"); !strings.Contains(out, "forbidden") {
		t.Errorf("apply of the promise as the redis team printed %q, want a 403", out)
	}
}
