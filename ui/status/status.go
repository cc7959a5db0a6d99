// Package status is the public status page at status.{BASE_DOMAIN}: each component's current
// state, the open incidents with their timeline, the planned maintenance, 90 days of daily
// uptime per component, an Atom feed and a JSON summary shaped like the common status-page API
// (/api/v2/summary.json), in Japanese and English, without JavaScript or third-party assets.
//
// It answers when the rest is down. A request never reads PostgreSQL or Redis: every web process
// renders the whole page (both languages, the feed, the JSON) from PostgreSQL into a snapshot
// every RefreshEvery and at once after a change made through this process's ops console, keeps
// it in memory, writes it to MADOGUCHI_STATUS_SNAPSHOT_DIR (the pod's emptyDir: a container
// restarted during an outage finds it) and to Redis (a pod started elsewhere during a PostgreSQL
// outage finds it there), and serves the snapshot. At start a process loads the newest of the
// file and the Redis copy before its first render, so a process started while PostgreSQL and
// Redis are both down still serves the last snapshot. The page says when it was rendered
// (「最終更新」), and once that is older than StaleAfter a notice says the information may be
// out of date.
package status

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/redis/go-redis/v9"

	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/web"
)

// Timing of the snapshot and the heartbeat.
const (
	RefreshEvery = 30 * time.Second // render from PostgreSQL and write the heartbeat
	StaleAfter   = 3 * time.Minute  // older than this, the page says it may be out of date
	snapshotFile = "status-snapshot.json"
	redisKey     = "status:snapshot"
	// staleMarker is where the stale notice goes: the start of the main element (html/template
	// drops comments, so no comment can mark it).
	staleMarker = `<main id="main" class="st-wrap" tabindex="-1">`
)

// Deps is what the status page needs, handed over by package ui.
type Deps struct {
	Status *tenant.StatusPage
	Redis  redis.UniversalClient
	Logger *slog.Logger
	// BaseDomain: the page's host is status.{BaseDomain} (the feed's and the JSON's links).
	BaseDomain string
	// SnapshotDir keeps the last snapshot on disk; "" keeps it in memory and Redis only.
	SnapshotDir string
	// Process names this process's heartbeat (the watchdog counts the web processes alive).
	Process string
	Now     func() time.Time // the clock; time.Now when nil
}

// Snapshot is the rendered page: HTML, stale notice, feed and JSON per language.
type Snapshot struct {
	RenderedAt time.Time         `json:"rendered_at"`
	HTML       map[string][]byte `json:"html"`
	Stale      map[string][]byte `json:"stale"`
	Feed       map[string][]byte `json:"feed"`
	JSON       map[string][]byte `json:"json"`
}

// UI is the status console.
type UI struct {
	deps    Deps
	log     *slog.Logger
	core    *web.Core
	views   *web.Views
	snap    atomic.Pointer[Snapshot]
	refresh sync.Mutex
}

// New builds the status console as an app of its own (web.Console) and loads the last snapshot
// from disk or Redis; Run keeps it fresh. It fails when a template is broken.
func New(core *web.Core, outer *fiber.App, d Deps) (*UI, *web.Console, error) {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	u := &UI{deps: d, log: d.Logger, core: core}
	var err error
	if u.views, err = web.LoadViews(templatesFS, u.funcs()); err != nil {
		return nil, nil, err
	}
	k := core.NewConsole(outer, "status", u)
	u.routes(k.App)
	u.load(context.Background())
	return u, k, nil
}

func (u *UI) now() time.Time { return u.deps.Now() }

// routes registers every route of the status host: all public, all read-only, none touching
// PostgreSQL or Redis.
func (u *UI) routes(app *fiber.App) {
	app.Get("/", u.page)                                                                                           // anyone: the page (?lang=en)
	app.Get("/feed.atom", u.feed)                                                                                  // anyone: Atom feed of incidents and maintenance
	app.Get("/api/v2/summary.json", u.summary)                                                                     // anyone: the JSON summary
	app.Get("/index.json", u.summary)                                                                              // anyone: the same, at a short address
	app.Get("/history", func(c *fiber.Ctx) error { return c.Redirect("/#history", fiber.StatusMovedPermanently) }) // old links
}

// Snapshot returns the snapshot served now (nil before the first).
func (u *UI) Snapshot() *Snapshot { return u.snap.Load() }

// lang picks the language: ?lang=, then the city sites' language cookie, then Accept-Language.
func lang(c *fiber.Ctx) string {
	switch c.Query("lang") {
	case "en":
		return "en"
	case "ja":
		return "ja"
	}
	if v := c.Cookies("lang"); v == "en" || v == "ja" {
		return v
	}
	if l := c.AcceptsLanguages("ja", "en"); l == "en" {
		return "en"
	}
	return "ja"
}

func (u *UI) current(c *fiber.Ctx) (*Snapshot, error) {
	s := u.snap.Load()
	if s == nil {
		return nil, &tenant.Error{Code: tenant.Unavailable, Key: "status.unavailable"}
	}
	c.Set(fiber.HeaderCacheControl, "public, max-age=30, stale-if-error=86400")
	c.Set(fiber.HeaderLastModified, s.RenderedAt.UTC().Format(time.RFC1123))
	c.Set(fiber.HeaderVary, "Accept-Language, Cookie")
	return s, nil
}

func (u *UI) page(c *fiber.Ctx) error {
	s, err := u.current(c)
	if err != nil {
		return err
	}
	l := lang(c)
	body := s.HTML[l]
	if u.now().Sub(s.RenderedAt) > StaleAfter {
		body = bytes.Replace(body, []byte(staleMarker), append([]byte(staleMarker), s.Stale[l]...), 1)
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Send(body)
}

func (u *UI) feed(c *fiber.Ctx) error {
	s, err := u.current(c)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "application/atom+xml; charset=utf-8")
	return c.Send(s.Feed[lang(c)])
}

func (u *UI) summary(c *fiber.Ctx) error {
	s, err := u.current(c)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	c.Set(fiber.HeaderAccessControlAllowOrigin, "*")
	return c.Send(s.JSON[lang(c)])
}

// RenderError renders the status host's error page (web.ErrorPages).
func (u *UI) RenderError(c *fiber.Ctx, p web.ErrorPage) error {
	return u.views.Render(c, "errors/error", &errorView{Lang: lang(c), CSS: u.core.Assets.URL("status.css"), ErrorPage: p})
}

type errorView struct {
	Lang, CSS string
	web.ErrorPage
}

// Refresh renders a new snapshot from PostgreSQL and keeps it (memory, disk, Redis). The ops
// console calls it after each change; Run every RefreshEvery.
func (u *UI) Refresh(ctx context.Context) error {
	u.refresh.Lock()
	defer u.refresh.Unlock()
	d, err := u.deps.Status.Data(ctx)
	if err != nil {
		return err
	}
	s, err := u.render(d)
	if err != nil {
		return err
	}
	u.snap.Store(s)
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	var errs []error
	if dir := u.deps.SnapshotDir; dir != "" {
		errs = append(errs, writeAtomic(filepath.Join(dir, snapshotFile), b))
	}
	if u.deps.Redis != nil {
		errs = append(errs, u.deps.Redis.Set(ctx, redisKey, b, 7*24*time.Hour).Err())
	}
	return errors.Join(errs...)
}

func writeAtomic(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".snapshot-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// load takes the newest of the snapshot on disk and the one in Redis, if newer than the one in
// memory.
func (u *UI) load(ctx context.Context) {
	var cands [][]byte
	if dir := u.deps.SnapshotDir; dir != "" {
		if b, err := os.ReadFile(filepath.Join(dir, snapshotFile)); err == nil {
			cands = append(cands, b)
		}
	}
	if u.deps.Redis != nil {
		rctx, cancel := context.WithTimeout(ctx, time.Second)
		if b, err := u.deps.Redis.Get(rctx, redisKey).Bytes(); err == nil {
			cands = append(cands, b)
		}
		cancel()
	}
	for _, b := range cands {
		var s Snapshot
		if err := json.Unmarshal(b, &s); err != nil || len(s.HTML["ja"]) == 0 {
			continue
		}
		if cur := u.snap.Load(); cur == nil || s.RenderedAt.After(cur.RenderedAt) {
			u.snap.Store(&s)
		}
	}
}

// Run writes the heartbeat and refreshes the snapshot every RefreshEvery until ctx is done
// (the caller renders the first one; see Refresh).
func (u *UI) Run(ctx context.Context) {
	for {
		if u.deps.Process != "" {
			if err := u.deps.Status.Heartbeat(ctx, u.deps.Process); err != nil && ctx.Err() == nil {
				u.log.Debug("status heartbeat", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(RefreshEvery):
		}
		u.tick(ctx)
	}
}

// tick refreshes the snapshot; when PostgreSQL does not answer it keeps serving the last one,
// looking on disk and in Redis while it has none.
func (u *UI) tick(ctx context.Context) {
	if err := u.Refresh(ctx); err != nil && ctx.Err() == nil {
		u.log.Warn("status snapshot not refreshed; serving the last one", "err", err)
		if u.snap.Load() == nil {
			u.load(ctx)
		}
	}
}

// First renders the first snapshot, waiting at most timeout (a process starting while
// PostgreSQL is down serves the one it loaded from disk or Redis meanwhile).
func (u *UI) First(ctx context.Context, timeout time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	u.tick(ctx)
}

// Changed is what the ops console calls after a change: a refresh now, on its own context (the
// request's may end first), logged if it fails (the next tick retries).
func (u *UI) Changed(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := u.Refresh(ctx); err != nil {
		u.log.Warn("status snapshot not refreshed after a change", "err", err)
	}
}
