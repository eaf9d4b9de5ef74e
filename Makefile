.PHONY: test test-kube kube-up kube-down build bench

COMMIT := $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS := -X github.com/runplane/runplane/internal/cli.commit=$(COMMIT)

# Every test; installs what the tests need on a fresh Debian machine.
test:
	./hack/test.sh

# The Kubernetes end-to-end tests alone: a fresh single-node cluster, the tests, teardown (KEEP=1 keeps it up).
test-kube:
	./hack/test-kube.sh

# The test cluster alone, left running (KUBECONFIG=~/.cache/runplane-k8s/pki/admin.kubeconfig); kube-down stops it.
kube-up:
	./hack/kube/cluster.sh up

kube-down:
	./hack/kube/cluster.sh down

build:
	go build -ldflags "$(LDFLAGS)" -o bin/runplane ./cmd/runplane

# The README's benchmark figures.
bench:
	./hack/bench.sh
