// Package uitest runs the browser end-to-end scenarios of ui/e2e from Go tests: Serve puts a real
// *fiber.App on a loopback port, and RunScript drives Debian's Chromium against it with a Node
// script built on ui/e2e/lib.mjs (playwright-core and axe-core). Nothing is mocked. A machine
// without Chromium or the npm packages fails the test with the command that installs them
// (.ci/browser); browser tests never skip.
//
// A test in package ui_test looks like:
//
//	func TestE2EHome(t *testing.T) {
//		e := newEnv(t, nil)
//		base := uitest.Serve(t, e.app)
//		uitest.RunScript(t, "home.mjs", uitest.CityURL(base, e.city.Slug), map[string]any{"cityName": e.city.Name})
//	}
package uitest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
)

// Chromium is the browser the scenarios drive: Debian's package, installed by .ci/browser.
const Chromium = "/usr/bin/chromium"

// Timeout bounds one RunScript call: launching the browser and every scenario at both viewports.
const Timeout = 5 * time.Minute

const install = "run .ci/browser from the repository root (it installs Chromium with apt and the npm packages of ui/e2e)"

// Serve starts app on a free loopback port and returns its base URL, e.g. "http://127.0.0.1:41234".
// The server is shut down when the test ends. City pages are reached through CityURL: Chromium
// resolves every *.localhost name to loopback, and the Host header selects the tenant.
func Serve(t testing.TB, app *fiber.App) (baseURL string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("uitest.Serve: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- app.Listener(ln) }()
	t.Cleanup(func() {
		if err := app.ShutdownWithTimeout(10 * time.Second); err != nil {
			t.Errorf("uitest.Serve: shutdown: %v", err)
		}
		// A test that ends at once may shut down before app.Listener has registered ln with the
		// server; Shutdown then has nothing to close and the server would accept forever.
		ln.Close()
		if err := <-done; err != nil && !errors.Is(err, net.ErrClosed) {
			t.Errorf("uitest.Serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

// CityURL turns a base URL from Serve into the address of a city's pages,
// e.g. ("http://127.0.0.1:41234", "matsusaka") → "http://matsusaka.localhost:41234".
func CityURL(baseURL, slug string) string {
	return HostURL(baseURL, slug+".localhost")
}

// HostURL is baseURL with its host name replaced by host and the port kept.
func HostURL(baseURL, host string) string {
	u, err := url.Parse(baseURL)
	if err != nil {
		panic(fmt.Sprintf("uitest.HostURL(%q): %v", baseURL, err))
	}
	if p := u.Port(); p != "" {
		host = net.JoinHostPort(host, p)
	}
	u.Host = host
	return u.String()
}

// RunScript runs `node ui/e2e/<script>` against baseURL and fails t unless it exits 0. The script
// reads baseURL from E2E_BASE_URL and data, marshalled to JSON, from E2E_DATA. Its output is passed
// to t.Log line by line as it arrives. The script and its browser are killed after Timeout.
func RunScript(t *testing.T, script string, baseURL string, data any) {
	t.Helper()
	node, dir, path, err := locate(script)
	if err != nil {
		t.Fatalf("uitest: %v", err)
	}
	blob, err := json.Marshal(data)
	if err != nil {
		t.Fatalf("uitest: E2E_DATA: %v", err)
	}

	start := time.Now()
	err = runNode(context.Background(), node, dir, path, baseURL, blob, func(line string) { t.Log(script + ": " + line) })
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		t.Fatalf("uitest: %s did not finish within %s", script, Timeout)
	case err != nil:
		t.Fatalf("uitest: %s failed after %s: %v (its output is above)", script, time.Since(start).Round(time.Millisecond), err)
	default:
		t.Logf("uitest: %s passed in %s", script, time.Since(start).Round(time.Millisecond))
	}
}

// locate finds node, ui/e2e and the script in it, and checks that Chromium and the npm packages
// are installed.
func locate(script string) (node, dir, path string, err error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", "", "", err
	}
	dir = filepath.Join(root, "ui", "e2e")
	path = filepath.Join(dir, filepath.FromSlash(script))
	if _, err := os.Stat(path); err != nil {
		return "", "", "", fmt.Errorf("scenario script: %w", err)
	}
	if _, err := os.Stat(Chromium); err != nil {
		return "", "", "", fmt.Errorf("the browser is not installed (%s missing): %s", Chromium, install)
	}
	for _, pkg := range []string{"playwright-core", "axe-core"} {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", pkg, "package.json")); err != nil {
			return "", "", "", fmt.Errorf("npm package %s is not installed in ui/e2e/node_modules: %s", pkg, install)
		}
	}
	if node, err = exec.LookPath("node"); err != nil {
		return "", "", "", fmt.Errorf("node is not installed: %s", install)
	}
	return node, dir, path, nil
}

// runNode runs node on path in dir with the E2E_* environment, passing each output line to logf,
// and returns nil when the script exits 0. It returns context.DeadlineExceeded after Timeout.
func runNode(ctx context.Context, node, dir, path, baseURL string, data []byte, logf func(string)) error {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, path)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "E2E_BASE_URL="+baseURL, "E2E_DATA="+string(data))
	out := &lineWriter{logf: logf}
	cmd.Stdout = out
	cmd.Stderr = out
	setProcessGroup(cmd) // on timeout, kill node and the Chromium processes it started
	cmd.WaitDelay = 10 * time.Second
	err := cmd.Run()
	out.flush()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// ModuleRoot is the directory holding go.mod, found by walking up from the working directory
// (go test runs each package in its own directory).
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// lineWriter passes whole lines to logf. os/exec calls Write from one goroutine at a time when
// Stdout and Stderr are the same writer; the mutex also orders the final flush.
type lineWriter struct {
	logf func(string)
	mu   sync.Mutex
	buf  bytes.Buffer
}

func (l *lineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	for {
		i := bytes.IndexByte(l.buf.Bytes(), '\n')
		if i < 0 {
			return len(p), nil
		}
		l.logf(strings.TrimRight(string(l.buf.Next(i+1)), "\r\n"))
	}
}

func (l *lineWriter) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buf.Len() > 0 {
		l.logf(strings.TrimRight(l.buf.String(), "\r\n"))
		l.buf.Reset()
	}
}
