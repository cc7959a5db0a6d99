# The two commands of the contract: `make demo` and `make test`. See README.md.
SHELL := /bin/bash
GO    ?= go
BIN   := bin/madoguchi
BENCH := $(BIN)-bench

.PHONY: demo test test-dates build lint services clean help-images guard-budget

# build: the production binary (BIN) and, beside it, the load generator (BENCH; see README.md,
# 'Benchmarks'), which the production binary does not contain.
build:
	$(GO) build -o $(BIN) ./cmd/madoguchi
	$(GO) build -o $(BENCH) ./cmd/madoguchi-bench

# demo: PostgreSQL and Redis (started or installed when absent), database and roles, migrations,
# the demo city, then web + worker in the foreground.
demo: build
	.ci/services
	.ci/demo

# test: repository hygiene (no compiled binary, no file over 2 MB), formatting, vet, staticcheck,
# migration numbering and every Go test (race detector) against real PostgreSQL and Redis, then the
# chart's alert rules and dashboard (charts/test, its own module: see its doc.go); browser
# tests run inside `go test` with Debian's Chromium. Then the booking, jobs and ui tests again as if
# it were two hard moments (see test-dates).
test:
	.ci/hygiene
	.ci/services
	.ci/browser
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...
	$(GO) test -race -count=1 -timeout 20m ./...
	cd charts/test && $(GO) vet ./... && $(GO) test -count=1 ./...
	GO=$(GO) .ci/test-dates quick

# test-dates: the booking, jobs and ui tests (no browser) at each moment of the list in
# .ci/test-dates — the year-end closure day by day, Golden Week, a Friday before a Monday holiday,
# a leap day, a month's last day, both sides of midnight JST — under TZ=UTC, one also under
# TZ=Asia/Tokyo. About half a minute per moment and package.
test-dates:
	.ci/services
	GO=$(GO) .ci/test-dates

# help-images: runs the staff, admin and call-center browser tests and copies the screenshots the
# in-app manuals show (ui/templates/help/*.html and the operator manual name them) from
# ui/e2e/screenshots/help/ into ui/web/static/help/.
help-images:
	.ci/services
	.ci/browser
	$(GO) test -count=1 -run 'TestE2E(Staff|Admin|CallCenter)' ./ui/
	@for f in $$(grep -oh 'help/[a-z0-9-]*\.png' ui/templates/help/*.html ui/callcenter/templates/help.html | sort -u); do \
	  cp ui/e2e/screenshots/$$f ui/web/static/$$f || exit 1; echo "ui/web/static/$$f"; done

# guard-budget: prints the citizen login's guessing budget with the default thresholds (cards an
# attacker with 1,000 addresses can take over per day, with the arithmetic) and checks it against
# the goal of 80; it needs Redis. `make test` runs the same test quietly.
guard-budget:
	$(GO) test -count=1 -run 'TestBudget$$' -v ./booking/guard/

clean:
	rm -rf bin .demo
