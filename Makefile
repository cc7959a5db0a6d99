# The two commands of the contract: `make demo` and `make test`. See README.md.
SHELL := /bin/bash
GO    ?= go
BIN   := bin/madoguchi

.PHONY: demo test build lint services clean

build:
	$(GO) build -o $(BIN) ./cmd/madoguchi

# demo: PostgreSQL and Redis (started or installed when absent), database and roles, migrations,
# the demo city, then web + worker in the foreground.
demo: build
	.ci/services
	.ci/demo

# test: formatting, vet, staticcheck, migration numbering and every Go test (race detector) against
# real PostgreSQL and Redis; browser tests run inside `go test` with Debian's Chromium.
test:
	.ci/services
	.ci/browser
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...
	$(GO) test -race -count=1 -timeout 20m ./...

clean:
	rm -rf bin .demo
