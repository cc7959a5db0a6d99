package ui_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/url"
	"strings"
	"testing"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/tenant"
)

// TestAdminHandoverHTTP: the city's 市管理者 downloads the handover archive from /admin (a zip
// whose manifest lists the cards file with the city's card in it), the download is in the audit
// log, a clerk gets 403 on the page and the download, and the download needs the CSRF token.
func TestAdminHandoverHTTP(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	admAccount(t, e, e.city, "boss", tenant.RoleAdmin, "boss password one")
	admAccount(t, e, e.city, "clerk", tenant.RoleStaff, "clerk password one")
	card := bookingtest.MustCard(t, e.svc, e.city, "0312")
	addr := serve(t, e)
	host := e.city.Slug + ".localhost"

	clerk := newBrowser(t, addr, host)
	admLogin(t, clerk, "clerk", "clerk password one")
	csrf := csrfOf(clerk.last)
	clerk.get("/admin/handover")
	clerk.want(403)
	clerk.post("/admin/handover", url.Values{"_csrf": {csrf}})
	clerk.want(403)

	b := newBrowser(t, addr, host)
	admLogin(t, b, "boss", "boss password one")
	b.get("/admin/handover")
	b.want(200, "引継ぎ用データの出力", "生年月日は、復元できない形")
	b.post("/admin/handover", url.Values{"_nocsrf": {"1"}})
	b.want(403)

	b.get("/admin/handover")
	resp, err := b.c.PostForm(b.base+"/admin/handover", url.Values{"_csrf": {csrfOf(b.last)}})
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/zip" ||
		!strings.Contains(resp.Header.Get("Content-Disposition"), `filename="handover_`+e.city.Slug+`_`) {
		t.Fatalf("download = %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"))
	}
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatalf("the download is no zip: %v", err)
	}
	files := map[string]*zip.File{}
	for _, f := range zr.File {
		files[f.Name] = f
	}
	mf, ok := files["manifest.json"]
	if !ok {
		t.Fatalf("no manifest.json in %v", files)
	}
	rc, err := mf.Open()
	if err != nil {
		t.Fatal(err)
	}
	var m booking.Manifest
	if err := json.NewDecoder(rc).Decode(&m); err != nil {
		t.Fatal(err)
	}
	rc.Close()
	found := false
	for _, f := range m.Files {
		if f.Table != "cards" {
			continue
		}
		r, err := files[f.Name].Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r)
		r.Close()
		found = f.Rows == 1 && strings.Contains(string(b), card.CardNo)
	}
	if !found {
		t.Errorf("the archive's cards file lacks the city's one card; manifest files: %+v", m.Files)
	}

	recs, _, _, err := e.accounts.AuditLog(ctx, e.city, tenant.AuditQuery{Action: "handover.export"})
	if err != nil || len(recs) < 2 {
		t.Errorf("audit rows of the handover = %d, %v; want started and complete", len(recs), err)
	}
}
