# The two commands of the contract: `make demo` and `make test`. See README.md.
SHELL := /bin/bash
GO    ?= go
BIN   := bin/madoguchi
BENCH := $(BIN)-bench

.PHONY: demo test test-dates build image drill lint services clean help-images manuals guard-budget fuzz measure-upload

# build: the production binary (BIN) and, beside it, the load generator (BENCH; see README.md,
# 'Benchmarks'), which the production binary does not contain.
build:
	$(GO) build -o $(BIN) ./cmd/madoguchi
	$(GO) build -o $(BENCH) ./cmd/madoguchi-bench

# image: the container image as an OCI image layout in bin/madoguchi-image, built without Docker
# and offline by tools/image (its own Go module: go-containerregistry stays out of go.mod and the
# binary): a static CGO_ENABLED=0 binary on an empty base, user 65532, the CA bundle pinned in
# tools/image, no shell. Reproducible: -trimpath, no build id, and every time in the image is the
# commit's time, so one commit gives one digest on any machine with the same Go toolchain. Named
# IMAGE_REPOSITORY:appVersion of charts/madoguchi/Chart.yaml, the chart's default image.
IMAGE_REPOSITORY ?= madoguchi/madoguchi
IMAGE_ARCH       ?= amd64
image:
	@rev=$$(git rev-parse HEAD); t=$$(git log -1 --format=%ct HEAD); \
	  if [ -n "$$(git status --porcelain --untracked-files=no)" ]; then echo "image: uncommitted changes; the image would not match commit $$rev" >&2; fi; \
	  ver=$$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$$/\1/p' charts/madoguchi/Chart.yaml); \
	  CGO_ENABLED=0 GOOS=linux GOARCH=$(IMAGE_ARCH) $(GO) build -trimpath -buildvcs=false -ldflags='-s -w -buildid=' -o bin/image/madoguchi ./cmd/madoguchi && \
	  (cd tools/image && $(GO) run . -binary ../../bin/image/madoguchi -ca ca-certificates.crt -out ../../bin/madoguchi-image \
	    -repository $(IMAGE_REPOSITORY) -tag "$$ver" -revision "$$rev" -created "$$t" -arch $(IMAGE_ARCH)) && \
	  (cd tools/image && $(GO) run . -verify ../../bin/madoguchi-image)

# drill: failure drills on this machine, not part of `make test` (README.md, "Failover"):
# - tenant: PostgreSQL primary + synchronous standby on loopback ports (run as the postgres user),
#   writes through the pool and tenant.InTx on a multi-host URL, the primary killed and the
#   standby promoted; prints acknowledged and failed writes and the gap, fails when an
#   acknowledged write is missing; then the point-in-time restore drill (base backup, archived
#   WAL, restore to a moment between two bookings: exactly the earlier one is there).
# - cmd/madoguchi (the real binary, built by the test): the rolling restart — two `serve`
#   processes behind a proxy that polls /readyz every 200 ms and retries nothing, citizens
#   booking through the API, each process restarted in turn: fails on any failed request; and
#   Redis with Sentinel — `serve` + `worker` on a redis-sentinel:// URL, bookings with a
#   confirmation mail each, the master killed: prints failed requests and the gap, fails unless
#   logins resume and every booking gets exactly one mail; and the PostgreSQL failover again,
#   with `serve` on the multi-host URL and the bookings through the API.
drill:
	.ci/services
	$(GO) test -tags drill -count=1 -p 1 -v -run 'TestDrill' ./tenant/ ./cmd/madoguchi/

# demo: PostgreSQL and Redis (started or installed when absent), database and roles, migrations,
# the demo city, then web + worker in the foreground.
demo: build
	.ci/services
	.ci/demo

# test: repository hygiene (no compiled binary, no file over 2 MB), formatting, vet, staticcheck,
# migration numbering and every Go test (race detector) against real PostgreSQL and Redis, then the
# chart's alert rules and dashboard (charts/test, its own module: see its doc.go); browser
# tests run inside `go test` with Debian's Chromium, the paging chain's test with Debian's Prometheus
# and Alertmanager (.ci/prometheus). Then the booking, jobs and ui tests again as if
# it were New Year's Eve half a minute before midnight JST (see test-dates).
test:
	.ci/hygiene
	.ci/services
	.ci/browser
	.ci/prometheus
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) mod verify
	$(GO) vet ./...
	$(GO) tool staticcheck ./...
	$(GO) test -race -count=1 -timeout 20m ./...
	GO=$(GO) .ci/fuzz
	cd charts/test && $(GO) vet ./... && $(GO) test -count=1 ./...
	cd tools/image && $(GO) vet ./... && $(GO) test -count=1 ./...
	GO=$(GO) .ci/test-dates quick

# fuzz: every parser of outside input fuzzed for FUZZTIME each (default 1s; .ci/fuzz lists
# them). Part of `make test`; `make fuzz FUZZTIME=5m` for a longer run.
fuzz:
	GO=$(GO) FUZZTIME=$(or $(FUZZTIME),1s) .ci/fuzz

# measure-upload: the web process's memory while a 50 MB card CSV uploads (ui TestUploadMemory).
measure-upload:
	.ci/services
	MADOGUCHI_MEASURE_UPLOAD=1 $(GO) test -count=1 -v -run '^TestUploadMemory$$' ./ui/ | grep -E 'upload of|ok|FAIL'

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

# manuals: the in-app manuals as A4 PDF files in bin/manuals/ (ignored, never committed): the staff
# manual, the operations manual, the call-center operator manual, the ops console's help and the
# demo city's citizen guide, printed by Chromium (ui/e2e/manuals.mjs) from the app started by
# cmd/madoguchi TestManuals with the demo's city and accounts; it checks each file has pages.
manuals:
	.ci/services
	.ci/browser
	set -o pipefail; MADOGUCHI_MANUALS_DIR=$(CURDIR)/bin/manuals $(GO) test -count=1 -v -run '^TestManuals$$' ./cmd/madoguchi/ | grep -E 'pages,|ok|FAIL|manuals.mjs'

# guard-budget: prints the citizen login's guessing budget with the default thresholds (cards an
# attacker with 1,000 addresses can take over per day, with the arithmetic) and checks it against
# the goal of 80; it needs Redis. `make test` runs the same test quietly.
guard-budget:
	$(GO) test -count=1 -run 'TestBudget$$' -v ./booking/guard/

clean:
	rm -rf bin .demo
