package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// TestImage builds an image around a small static program the way `make image` builds the real
// one, opens the written tarball and checks user, entrypoint, labels and the static binary; a
// second build from the same inputs must give the same digest.
func TestImage(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	if err := os.WriteFile(src, []byte("package main\n\nimport (\n\t\"time\"\n\t_ \"time/tzdata\"\n)\n\nfunc main() { _, _ = time.LoadLocation(\"Asia/Tokyo\") }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module stub\n\ngo 1.26\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "madoguchi")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w -buildid=", "-o", bin, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	o := options{Binary: bin, CA: "ca-certificates.crt", Repository: "madoguchi/madoguchi", Tag: "0.1.0",
		Revision: "0123456789abcdef", Source: "https://example.invalid/madoguchi", Created: time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC), Arch: "amd64"}
	first := filepath.Join(dir, "a")
	d1, err := writeImage(first, o)
	if err != nil {
		t.Fatal(err)
	}
	d2, err := writeImage(filepath.Join(dir, "b"), o)
	if err != nil {
		t.Fatal(err)
	}
	if d1 != d2 {
		t.Fatalf("not reproducible: %s then %s", d1, d2)
	}
	got, err := verifyFile(first)
	if err != nil {
		t.Fatal(err)
	}
	if got != d1 {
		t.Fatalf("tarball holds %s, built %s", got, d1)
	}
	idx, err := layout.ImageIndexFromPath(first)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if ref := im.Manifests[0].Annotations["org.opencontainers.image.ref.name"]; ref != "0.1.0" {
		t.Fatalf("ref.name %q", ref)
	}
	img, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Config.User != "65532:65532" || cf.Config.Labels["org.opencontainers.image.version"] != "0.1.0" ||
		cf.Config.Labels["org.opencontainers.image.revision"] != "0123456789abcdef" || !cf.Created.Time.Equal(o.Created) {
		t.Fatalf("config %+v", cf.Config)
	}

	// A different commit time is a different image; "latest" and a dynamic binary are refused.
	o2 := o
	o2.Created = o.Created.Add(time.Second)
	if d3, err := writeImage(filepath.Join(dir, "c"), o2); err != nil || d3 == d1 {
		t.Fatalf("other time: %s, %v", d3, err)
	}
	o2 = o
	o2.Tag = "latest"
	if _, err := build(o2); err == nil {
		t.Fatal(`tag "latest" accepted`)
	}
	if ls, err := exec.LookPath("ls"); err == nil {
		o2 = o
		o2.Binary = ls
		if _, err := build(o2); err == nil || !strings.Contains(err.Error(), "CGO_ENABLED=0") {
			t.Fatalf("dynamic %s: %v", ls, err)
		}
	}
	o2 = o
	o2.CA = src
	if _, err := build(o2); err == nil || !strings.Contains(err.Error(), "pinned") {
		t.Fatalf("unpinned bundle: %v", err)
	}
}
