package ui

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

// assets are the embedded static files, served at /static/{hash}/{name} with a year-long
// immutable cache; the hash changes whenever the content does.
type assets struct {
	byName map[string]asset // "app.css" → asset
}

type asset struct {
	hash string
	body []byte
	mime string
}

func loadAssets() (*assets, error) {
	a := &assets{byName: map[string]asset{}}
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

// url returns the hashed URL of a static file; an unknown name panics at template execution,
// which the render test catches.
func (a *assets) url(name string) string {
	as, ok := a.byName[name]
	if !ok {
		panic("unknown asset " + name)
	}
	return "/static/" + as.hash + "/" + name
}

// static serves an embedded file. Only exact names from the embedded set are served, so path
// traversal has nothing to reach; a stale hash still gets the current file, uncached.
func (u *UI) static(c *fiber.Ctx) error {
	name := c.Params("+")
	as, ok := u.assets.byName[name]
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
