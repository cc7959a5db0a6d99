package ui_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"golang.org/x/text/encoding/japanese"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/jobs"
	"github.com/madoguchi/madoguchi/jobs/jobstest"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/tenant/tenanttest"
)

// newImportEnv is newEnv on a throwaway Redis with the real worker running in-process, so
// uploads are validated and committed as in production.
func newImportEnv(t *testing.T) (*env, *redis.Client) {
	t.Helper()
	rdb := jobstest.StartRedis(t).Client(t)
	e := newEnv(t, rdb)
	startWorker(t, e, rdb)
	return e, rdb
}

// startWorker runs the real worker in-process on the env's services and clock until the test ends.
func startWorker(t *testing.T, e *env, rdb *redis.Client) {
	t.Helper()
	mailer, err := jobs.NewSMTPMailer("smtp://127.0.0.1:1") // imports send no mail
	if err != nil {
		t.Fatal(err)
	}
	w := jobs.NewWorker(jobs.WorkerConfig{DB: e.db.App, Redis: rdb, Booking: e.svc, Tenants: tenant.NewDirectory(tenant.NewService(e.db.App), 0),
		Mailer: mailer, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Jobs: []jobs.PeriodicJob{}, Now: e.now,
		Server: jobs.ServerConfig{Concurrency: 2, ShutdownTimeout: 5 * time.Second, PollInterval: 50 * time.Millisecond}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("worker: %v", err)
		}
	})
}

func sjisBytes(t *testing.T, s string) []byte {
	t.Helper()
	b, err := japanese.ShiftJIS.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// upload posts a multipart form with the file and the page's CSRF token.
func (b *browser) upload(path, csrf, name string, data []byte) {
	b.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if csrf != "" {
		_ = mw.WriteField("_csrf", csrf)
	}
	if name != "" {
		fw, _ := mw.CreateFormFile("file", name)
		_, _ = fw.Write(data)
	}
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, b.base+path, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	buf := new(strings.Builder)
	_, _ = io_Copy(buf, resp)
	b.last, b.status = buf.String(), resp.StatusCode
}

func (b *browser) rawUpload(csrf string, data []byte) (int, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("_csrf", csrf)
	fw, _ := mw.CreateFormFile("file", "huge.csv")
	_, _ = fw.Write(data)
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, b.base+"/admin/imports", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := b.c.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func importIDOf(t *testing.T, page string) uuid.UUID {
	t.Helper()
	id, err := uuid.Parse(firstMatch(t, `/admin/imports/([0-9a-f-]{36})/(?:status|commit|cancel)`, page))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func waitImport(t *testing.T, e *env, id uuid.UUID, want booking.ImportState) *booking.ImportJob {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second) // real time: how long the worker may take
	for {
		j, err := e.svc.ImportJob(context.Background(), e.city.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		if j.State == want {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("import %s is %s, want %s", id, j.State, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestAdminImportHTTP drives the import pages over HTTP with the worker running: access for
// admins only, CSRF, the upload limits, another city's import id, the preview, the error report,
// a double commit, and the audit log.
func TestAdminImportHTTP(t *testing.T) {
	e, _ := newImportEnv(t)
	mustStaffAccount(t, e, "imp.admin", tenant.RoleAdmin, "admin password for import")
	mustStaffAccount(t, e, "imp.clerk", tenant.RoleStaff, "clerk password for import")
	other := tenanttest.MustCreateTenant(t, e.db.App)
	otherJob, err := e.svc.CreateImportJob(context.Background(), other.ID, tenant.Staff(uuid.Nil, "x", ""), "other.csv", []byte("製造管理番号,生年月日\n"))
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, e)
	host := e.city.Slug + ".localhost"

	clerk := newBrowser(t, addr, host)
	staffLogin(t, clerk, "imp.clerk", "clerk password for import")
	for _, p := range []string{"/admin/imports", "/admin/imports/profile", "/admin/imports/" + otherJob.ID.String()} {
		clerk.get(p)
		clerk.want(403, "権限がありません")
	}
	clerk.get("/admin")
	clerk.upload("/admin/imports", csrfOf(clerk.last), "a.csv", []byte("製造管理番号,生年月日\n900000001,1990-03-12\n"))
	clerk.want(403)

	b := newBrowser(t, addr, host)
	staffLogin(t, b, "imp.admin", "admin password for import")
	b.get("/admin/imports")
	b.want(200, "カードデータの取込", "まだ取込はありません", "「製造管理番号」と「生年月日」")
	csrf := csrfOf(b.last)
	b.upload("/admin/imports", "", "a.csv", []byte("製造管理番号,生年月日\n900000001,1990-03-12\n"))
	b.want(403)
	b.upload("/admin/imports", csrf, "", nil)
	b.want(422, "ファイルを選んでください")
	b.upload("/admin/imports", csrf, "big.csv", bytes.Repeat([]byte("9"), booking.ImportMaxFileBytes+1))
	b.want(422, "ファイルが大きすぎます")
	// Over the server's body limit the request is refused before it is read: a 413, or the
	// connection closed while the client still sends.
	if status, err := b.rawUpload(csrf, bytes.Repeat([]byte("9"), booking.ImportMaxFileBytes+2<<20)); err == nil && status != 413 {
		t.Fatalf("upload over the body limit = %d, want 413", status)
	}
	// Another route does not take a large body: 413 from the headers, or the connection closed
	// while the client still sends (the server answers before reading the body).
	big := strings.NewReader(url.Values{"_csrf": {csrf}, "col_card_no": {strings.Repeat("x", 2<<20)}}.Encode())
	req, _ := http.NewRequest(http.MethodPost, b.base+"/admin/imports/profile", big)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, err := b.c.Do(req); err == nil {
		resp.Body.Close()
		if resp.StatusCode != 413 {
			t.Fatalf("profile post of 2 MiB = %d, want 413", resp.StatusCode)
		}
	}

	file := sjisBytes(t, "個人番号,製造管理番号,氏名,生年月日\r\n"+
		"123456789019,900000001,髙橋 一郎,1990-03-12\r\n"+
		"987654321094,900000002,松阪 花子,1990-02-30\r\n")
	b.upload("/admin/imports", csrf, `C:\data\対象者.csv`, file)
	b.want(200, "ファイルを受け付けました", "対象者.csv") // a progress bar too, unless the worker was faster
	id := importIDOf(t, b.last)
	waitImport(t, e, id, booking.ImportValidated)

	b.get("/admin/imports/" + id.String() + "/status")
	var st struct {
		State   string
		Busy    bool
		Percent int
	}
	if err := json.Unmarshal([]byte(b.last), &st); err != nil || st.State != "validated" || st.Busy || st.Percent != 100 {
		t.Fatalf("status JSON = %s (%v)", b.last, err)
	}
	b.get("/admin/imports/" + id.String())
	b.want(200, "確認結果", "新規", "1件", "3行目", "生年月日の形式が正しくありません", "取り込む")
	if strings.Contains(b.last, "<progress") || strings.Contains(b.last, "123456789019") {
		t.Fatalf("validated page shows a progress bar or a 個人番号: %.2000s", b.last)
	}
	b.get("/admin/imports/" + id.String() + "/errors.csv")
	b.want(200, "\uFEFF行,理由", "3,生年月日の形式が正しくありません")
	b.get("/admin/imports/" + otherJob.ID.String())
	b.want(404)
	b.get("/admin/imports/not-a-uuid")
	b.want(404)
	b.get("/admin/imports/" + id.String())
	csrf = csrfOf(b.last)
	b.post("/admin/imports/"+otherJob.ID.String()+"/commit", url.Values{"_csrf": {csrf}})
	b.want(404)
	b.post("/admin/imports/"+id.String()+"/commit", url.Values{"_nocsrf": {"1"}})
	b.want(403)

	b.post("/admin/imports/"+id.String()+"/commit", url.Values{"_csrf": {csrf}})
	b.want(200, "取込を始めました")
	b.post("/admin/imports/"+id.String()+"/commit", url.Values{"_csrf": {csrf}})
	b.want(200, "すでに処理されています")
	j := waitImport(t, e, id, booking.ImportDone)
	if j.New != 1 || j.Rejected != 1 {
		t.Fatalf("result = %+v", j)
	}
	b.get("/admin/imports/" + id.String())
	b.want(200, "取込結果", "予約と紐付け")
	b.get("/admin/imports")
	b.want(200, "対象者.csv", "取込完了", "新規 1件")
	if got := strings.Join(auditActions(t, e, "imp.admin"), " "); !strings.Contains(got, "import.upload import.commit") {
		t.Errorf("audit actions = %s, want import.upload then import.commit", got)
	}

	// Cancel before committing; the profile page.
	b.upload("/admin/imports", csrf, "b.csv", file)
	id2 := importIDOf(t, b.last)
	waitImport(t, e, id2, booking.ImportValidated)
	b.post("/admin/imports/"+id2.String()+"/cancel", url.Values{"_csrf": {csrf}})
	b.want(200, "取込を中止しました", "中止しました")
	b.post("/admin/imports/"+id2.String()+"/commit", url.Values{"_csrf": {csrf}})
	b.want(200, "すでに処理されています")
	b.get("/admin/imports/profile")
	b.want(200, "取込ファイルの列の対応", `value="製造管理番号"`)
	b.post("/admin/imports/profile", url.Values{"_csrf": {csrf}, "col_card_no": {"番号"}, "col_birth": {"番号"}, "col_name": {"氏名"}, "col_name_kana": {"カナ"}, "col_storage_pos": {""}})
	b.want(422, "同じ列名がほかの項目にも", "列名を入力してください", `value="番号"`)
	b.post("/admin/imports/profile", url.Values{"_csrf": {csrf}, "col_card_no": {"交付番号"}, "col_birth": {"生年月日"}, "col_name": {"氏名"}, "col_name_kana": {"カナ"}, "col_storage_pos": {"箱"}})
	b.want(200, "列の対応を保存しました", `value="交付番号"`)
	if got := strings.Join(auditActions(t, e, "imp.admin"), " "); !strings.Contains(got, "import.cancel") || !strings.Contains(got, "import.profile") {
		t.Errorf("audit actions = %s, want import.cancel and import.profile", got)
	}
}
