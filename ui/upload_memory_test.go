package ui_test

import (
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
)

// TestUploadMemory measures the web process's memory while a 50 MB card CSV uploads (make
// measure-upload; skipped otherwise). The client writes the multipart body from a generator,
// so what the process holds is the server's: the peak resident size (VmHWM) and the heap's
// growth are printed.
func TestUploadMemory(t *testing.T) {
	if os.Getenv("MADOGUCHI_MEASURE_UPLOAD") == "" {
		t.Skip("set MADOGUCHI_MEASURE_UPLOAD=1 (make measure-upload)")
	}
	e := newEnv(t, nil)
	mustStaffAccount(t, e, "mem.admin", tenant.RoleAdmin, "admin password for memory")
	addr := serve(t, e)
	b := newBrowser(t, addr, e.city.Slug+".localhost")
	staffLogin(t, b, "mem.admin", "admin password for memory")
	b.get("/admin/imports")
	csrf := csrfOf(b.last)

	runtime.GC()
	before := vmHWM(t)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	heapBefore := ms.HeapAlloc

	// The body is written twice from the same generator: once to count it (browsers announce
	// the length of a form, and the upload route wants it), then into the request.
	write := func(w io.Writer, boundary string) {
		mw := multipart.NewWriter(w)
		_ = mw.SetBoundary(boundary)
		_ = mw.WriteField("_csrf", csrf)
		fw, err := mw.CreateFormFile("file", "cards.csv")
		if err != nil {
			return
		}
		line := []byte("900000001,1990-03-12\n")
		_, _ = fw.Write([]byte("製造管理番号,生年月日\n"))
		for n := 0; n+len(line) <= booking.ImportMaxFileBytes-64; n += len(line) {
			if _, err := fw.Write(line); err != nil {
				return
			}
		}
		_ = mw.Close()
	}
	const boundary = "madoguchi-measure-upload"
	var size countingWriter
	write(&size, boundary)
	pr, pw := io.Pipe()
	go func() { write(pw, boundary); _ = pw.Close() }()
	var peakHeap uint64
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				peakHeap = max(peakHeap, m.HeapAlloc)
			}
		}
	}()
	req, _ := http.NewRequest(http.MethodPost, b.base+"/admin/imports", pr)
	req.ContentLength = int64(size)
	req.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
	start := time.Now()
	resp, err := b.c.Do(req)
	close(done)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	t.Logf("upload of ~%d MB: status %d in %v; peak RSS %d MiB -> %d MiB (+%d MiB); peak heap +%d MiB over %d MiB",
		booking.ImportMaxFileBytes>>20, resp.StatusCode, time.Since(start).Round(time.Millisecond), before>>10, vmHWM(t)>>10,
		(vmHWM(t)-before)>>10, (peakHeap-min(peakHeap, heapBefore))>>20, heapBefore>>20)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("upload status %d", resp.StatusCode)
	}
}

// vmHWM is the process's peak resident set size in KiB.
func vmHWM(t *testing.T) uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			n, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

type countingWriter int64

func (c *countingWriter) Write(p []byte) (int, error) {
	*c += countingWriter(len(p))
	return len(p), nil
}
