.PHONY: test build bench

test:
	./hack/test.sh

build:
	go build -o bin/runplane ./cmd/runplane

bench:
	./hack/bench.sh
