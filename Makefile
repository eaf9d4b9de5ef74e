.PHONY: test build bench

COMMIT := $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS := -X github.com/runplane/runplane/internal/cli.commit=$(COMMIT)

# Every test; installs what the tests need on a fresh Debian machine.
test:
	./hack/test.sh

build:
	go build -ldflags "$(LDFLAGS)" -o bin/runplane ./cmd/runplane

# The README's benchmark figures.
bench:
	./hack/bench.sh
