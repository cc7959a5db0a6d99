package ui_test

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
)

func io_Copy(w io.Writer, resp *http.Response) (int64, error) { return io.Copy(w, resp.Body) }

// serve runs the env's app on a loopback port until the test ends.
func serve(t *testing.T, e *env) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go e.app.Listener(ln)
	t.Cleanup(func() { _ = e.app.Shutdown() })
	return ln.Addr().String()
}

func tenanttestCity(t *testing.T, e *env) *tenant.Tenant {
	return tenanttest.MustCreateTenant(t, e.db.App)
}

func toFullWidth(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			r += 0xFF10 - '0'
		}
		b.WriteRune(r)
	}
	return b.String()
}
