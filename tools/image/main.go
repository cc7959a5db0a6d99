// Command image builds madoguchi's container image without Docker, offline: one layer on an
// empty base holding the static binary, the CA bundle pinned in this directory
// (ca-certificates.crt), a passwd/group naming the numeric non-root user and an empty /tmp.
// There is no shell and no package manager in the image. Time-zone data is inside the binary
// (Go's time/tzdata, imported by cmd/madoguchi).
//
// The image is reproducible: every file has the same owner, mode and modification time
// (-created, the commit's time), entries are written in a fixed order and the configuration
// holds nothing from the building machine, so the same commit built with the same Go toolchain
// gives the same digest anywhere. It is written as an OCI image layout directory (the format
// registry copy tools read: `crane push DIR REF`, `skopeo copy oci:DIR:TAG docker://REF`), which
// keeps the manifest byte for byte, so the printed digest is the one the registry will show.
//
// It is its own Go module so that go-containerregistry stays out of madoguchi's go.mod and
// binary. `make image` builds the binary and runs this; `image -verify DIR` checks a written
// image (non-root numeric user, entrypoint, labels, static binary) and is what the test uses.
package main

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The image's fixed facts, checked by verify.
const (
	binaryPath = "/usr/local/bin/madoguchi"
	caPath     = "/etc/ssl/certs/ca-certificates.crt"
	// UID = GID 65532, the usual "nonroot" of distroless images; the chart's securityContext
	// runs as the same numbers.
	uid      = 65532
	userName = "madoguchi"
)

// caSHA256 pins the bundle in this directory: a changed file fails the build until this line
// is changed with it (in the same reviewed commit).
const caSHA256 = "2021f64aa8b43c9eae5b1e330588e8c3ef12b821b119680de3f264f07923fa76"

// options are the inputs of one build.
type options struct {
	Binary     string    // the static linux binary to ship
	CA         string    // PEM bundle; its SHA-256 must be caSHA256
	Repository string    // e.g. madoguchi/madoguchi
	Tag        string    // e.g. 0.1.0 (the chart's appVersion)
	Revision   string    // commit hash (org.opencontainers.image.revision)
	Source     string    // org.opencontainers.image.source
	Created    time.Time // modification time of every file and the image's creation time
	Arch       string    // amd64 or arm64
}

func main() {
	var o options
	var created int64
	verify := flag.String("verify", "", "check the image layout DIR instead of building one")
	out := flag.String("out", "bin/madoguchi-image", "OCI image layout directory to write (replaced)")
	flag.StringVar(&o.Binary, "binary", "bin/image/madoguchi", "static madoguchi binary (CGO_ENABLED=0, linux)")
	flag.StringVar(&o.CA, "ca", "tools/image/ca-certificates.crt", "pinned CA bundle")
	flag.StringVar(&o.Repository, "repository", "madoguchi/madoguchi", "image repository (the chart's image.repository)")
	flag.StringVar(&o.Tag, "tag", "", "image tag (the chart's appVersion)")
	flag.StringVar(&o.Revision, "revision", "", "commit hash recorded as a label")
	flag.StringVar(&o.Source, "source", "https://github.com/madoguchi/madoguchi", "source repository recorded as a label")
	flag.Int64Var(&created, "created", 0, "creation time, seconds since 1970 (the commit's time)")
	flag.StringVar(&o.Arch, "arch", "amd64", "architecture of the binary")
	flag.Parse()
	if *verify != "" {
		d, err := verifyFile(*verify)
		if err != nil {
			fmt.Fprintln(os.Stderr, "image:", err)
			os.Exit(1)
		}
		fmt.Printf("%s: ok (%s)\n", *verify, d)
		return
	}
	o.Created = time.Unix(created, 0).UTC()
	d, err := writeImage(*out, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
	fmt.Printf("%s:%s %s written to %s\n", o.Repository, o.Tag, d, *out)
}

// writeImage builds the image and writes it to out; it returns the image digest.
func writeImage(out string, o options) (v1.Hash, error) {
	img, err := build(o)
	if err != nil {
		return v1.Hash{}, err
	}
	ref, err := name.NewTag(o.Repository + ":" + o.Tag)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("image name: %w", err)
	}
	if err := os.RemoveAll(out); err != nil {
		return v1.Hash{}, err
	}
	p, err := layout.Write(out, empty.Index)
	if err != nil {
		return v1.Hash{}, err
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": ref.TagStr(),
		"io.containerd.image.name":          ref.Name(),
	})); err != nil {
		return v1.Hash{}, err
	}
	if _, err := verifyImage(img); err != nil {
		return v1.Hash{}, fmt.Errorf("written image fails its own check: %w", err)
	}
	return img.Digest()
}

// build assembles the image in memory.
func build(o options) (v1.Image, error) {
	if o.Tag == "" || o.Tag == "latest" {
		return nil, errors.New(`a tag other than "latest" is required (the chart's appVersion)`)
	}
	bin, err := os.ReadFile(o.Binary)
	if err != nil {
		return nil, err
	}
	if err := checkStatic(bin); err != nil {
		return nil, fmt.Errorf("%s: %w", o.Binary, err)
	}
	ca, err := os.ReadFile(o.CA)
	if err != nil {
		return nil, err
	}
	if sum := sha256.Sum256(ca); hex.EncodeToString(sum[:]) != caSHA256 {
		return nil, fmt.Errorf("%s: SHA-256 %x is not the pinned %s", o.CA, sum, caSHA256)
	}
	layerTar, err := rootFS(o.Created, bin, ca)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer), tarball.WithCompressedCaching)
	if err != nil {
		return nil, err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{Layer: layer, History: v1.History{
		Created: v1.Time{Time: o.Created}, CreatedBy: "madoguchi tools/image", Comment: "static binary, CA bundle, passwd",
	}})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Architecture = o.Arch
	cf.OS = "linux"
	cf.Created = v1.Time{Time: o.Created}
	cf.Config = v1.Config{
		User:       strconv.Itoa(uid) + ":" + strconv.Itoa(uid),
		Entrypoint: []string{binaryPath},
		Cmd:        []string{"serve"},
		WorkingDir: "/",
		Env: []string{
			"PATH=/usr/local/bin",
			"SSL_CERT_FILE=" + caPath,
		},
		Labels: map[string]string{
			"org.opencontainers.image.title":       "madoguchi",
			"org.opencontainers.image.description": "My Number Card pickup booking: serve, worker, migrate",
			"org.opencontainers.image.version":     o.Tag,
			"org.opencontainers.image.revision":    o.Revision,
			"org.opencontainers.image.source":      o.Source,
			"org.opencontainers.image.created":     o.Created.Format(time.RFC3339),
		},
	}
	return mutate.ConfigFile(img, cf)
}

// rootFS is the layer: directories, then files, all owned by root except /tmp's sticky bit,
// with one modification time.
func rootFS(mtime time.Time, bin, ca []byte) ([]byte, error) {
	passwd := fmt.Sprintf("root:x:0:0:root:/:/nonexistent\n%s:x:%d:%d:%s:/tmp:/nonexistent\n", userName, uid, uid, userName)
	group := fmt.Sprintf("root:x:0:\n%s:x:%d:\n", userName, uid)
	type entry struct {
		name string
		mode int64
		dir  bool
		body []byte
	}
	entries := []entry{
		{name: "etc/", mode: 0o755, dir: true},
		{name: "etc/ssl/", mode: 0o755, dir: true},
		{name: "etc/ssl/certs/", mode: 0o755, dir: true},
		{name: "tmp/", mode: 0o1777, dir: true},
		{name: "usr/", mode: 0o755, dir: true},
		{name: "usr/local/", mode: 0o755, dir: true},
		{name: "usr/local/bin/", mode: 0o755, dir: true},
		{name: "etc/group", mode: 0o644, body: []byte(group)},
		{name: "etc/passwd", mode: 0o644, body: []byte(passwd)},
		{name: strings.TrimPrefix(caPath, "/"), mode: 0o644, body: ca},
		{name: strings.TrimPrefix(binaryPath, "/"), mode: 0o755, body: bin},
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: e.mode, ModTime: mtime, Format: tar.FormatPAX, Uname: "root", Gname: "root"}
		if e.dir {
			h.Typeflag = tar.TypeDir
		} else {
			h.Typeflag = tar.TypeReg
			h.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.body); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// checkStatic refuses a binary that needs a dynamic loader or shared libraries: the image has
// neither.
func checkStatic(bin []byte) error {
	f, err := elf.NewFile(bytes.NewReader(bin))
	if err != nil {
		return fmt.Errorf("not a linux ELF binary: %w", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return errors.New("dynamically linked (has a program interpreter); build with CGO_ENABLED=0")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		return fmt.Errorf("needs shared libraries %v; build with CGO_ENABLED=0", libs)
	}
	return nil
}

// verifyFile opens a written image layout and checks its one image.
func verifyFile(dir string) (v1.Hash, error) {
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return v1.Hash{}, err
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return v1.Hash{}, err
	}
	if len(m.Manifests) != 1 {
		return v1.Hash{}, fmt.Errorf("%s holds %d manifests, want 1", dir, len(m.Manifests))
	}
	img, err := idx.Image(m.Manifests[0].Digest)
	if err != nil {
		return v1.Hash{}, err
	}
	return verifyImage(img)
}

// verifyImage checks what the chart and the security rules rely on: a numeric non-root user,
// the entrypoint, the labels, one layer whose binary is static, the CA bundle and no shell.
func verifyImage(img v1.Image) (v1.Hash, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return v1.Hash{}, err
	}
	c := cf.Config
	u, g, ok := strings.Cut(c.User, ":")
	if !ok || u != strconv.Itoa(uid) || g != strconv.Itoa(uid) {
		return v1.Hash{}, fmt.Errorf("user %q, want the numeric %d:%d", c.User, uid, uid)
	}
	if !slices.Equal(c.Entrypoint, []string{binaryPath}) {
		return v1.Hash{}, fmt.Errorf("entrypoint %q, want [%s]", c.Entrypoint, binaryPath)
	}
	for _, l := range []string{"org.opencontainers.image.title", "org.opencontainers.image.version", "org.opencontainers.image.revision", "org.opencontainers.image.source"} {
		if c.Labels[l] == "" {
			return v1.Hash{}, fmt.Errorf("label %s missing", l)
		}
	}
	if v := c.Labels["org.opencontainers.image.version"]; v == "latest" {
		return v1.Hash{}, errors.New(`version label "latest"`)
	}
	layers, err := img.Layers()
	if err != nil {
		return v1.Hash{}, err
	}
	if len(layers) != 1 {
		return v1.Hash{}, fmt.Errorf("%d layers, want 1 on an empty base", len(layers))
	}
	files := map[string][]byte{}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		return v1.Hash{}, err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return v1.Hash{}, err
		}
		p := "/" + strings.TrimSuffix(h.Name, "/")
		switch path.Base(p) {
		case "sh", "bash", "ash", "busybox", "dash":
			return v1.Hash{}, fmt.Errorf("%s: the image must hold no shell", p)
		}
		if h.Typeflag == tar.TypeReg {
			b, err := io.ReadAll(tr)
			if err != nil {
				return v1.Hash{}, err
			}
			files[p] = b
		}
	}
	bin, ok := files[binaryPath]
	if !ok {
		return v1.Hash{}, fmt.Errorf("%s missing", binaryPath)
	}
	if err := checkStatic(bin); err != nil {
		return v1.Hash{}, fmt.Errorf("%s: %w", binaryPath, err)
	}
	if sum := sha256.Sum256(files[caPath]); hex.EncodeToString(sum[:]) != caSHA256 {
		return v1.Hash{}, fmt.Errorf("%s is not the pinned bundle", caPath)
	}
	return img.Digest()
}
