package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"path"

	"github.com/gofiber/fiber/v2"
)

//go:embed static
var staticFS embed.FS

// Assets are the embedded static files, served at /static/{hash}/{name} with a year-long
// immutable cache; the hash changes whenever the content does.
type Assets struct {
	byName map[string]asset // "app.css" → asset
}

type asset struct {
	hash string
	body []byte
	mime string
}

// LoadAssets reads the embedded static files and hashes them.
func LoadAssets() (*Assets, error) {
	a := &Assets{byName: map[string]asset{}}
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		name := p[len("static/"):]
		ct := mime.TypeByExtension(path.Ext(name))
		if ct == "" {
			ct = "application/octet-stream"
		}
		a.byName[name] = asset{hash: hex.EncodeToString(sum[:6]), body: b, mime: ct}
		return nil
	})
	return a, err
}

// URL returns the hashed URL of a static file; an unknown name panics at template execution,
// which the render test catches.
func (a *Assets) URL(name string) string {
	as, ok := a.byName[name]
	if !ok {
		panic("unknown asset " + name)
	}
	return "/static/" + as.hash + "/" + name
}

// Serve serves an embedded file at /static/:hash/+. Only exact names from the embedded set are
// served, so path traversal has nothing to reach; a stale hash still gets the current file,
// uncached.
func (a *Assets) Serve(c *fiber.Ctx) error {
	name := c.Params("+")
	as, ok := a.byName[name]
	if !ok {
		return fiber.ErrNotFound
	}
	if c.Params("hash") == as.hash {
		c.Set(fiber.HeaderCacheControl, "public, max-age=31536000, immutable")
	} else {
		c.Set(fiber.HeaderCacheControl, "no-cache")
	}
	c.Set(fiber.HeaderContentType, as.mime)
	return c.Send(as.body)
}
