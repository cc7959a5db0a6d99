package ui_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/madoguchi/madoguchi/booking/bookingtest"
	"github.com/madoguchi/madoguchi/ui"
)

// allBirthdays returns the 366 possible MMDDs.
func allBirthdays() []string {
	var out []string
	for d := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() == 2024; d = d.AddDate(0, 0, 1) {
		out = append(out, d.Format("0102"))
	}
	return out
}

// guessClient is one attacker's client: its own address (X-Real-IP from a trusted proxy) and,
// for the web paths, its own session with a CSRF token.
type guessClient struct {
	c    *http.Client
	base string
	ip   string
	csrf string
}

func newGuessClient(t *testing.T, addr, host, ip string) *guessClient {
	jar, _ := cookiejar.New(nil)
	return &guessClient{base: "http://" + addr, ip: ip, c: &http.Client{Jar: jar, Timeout: 60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport:     &hostTransport{host: host}}}
}

// hostTransport sends every request with the city's Host header.
type hostTransport struct{ host string }

func (h *hostTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r.Host = h.host
	return http.DefaultTransport.RoundTrip(r)
}

func (g *guessClient) do(t *testing.T, method, path, ctype string, body io.Reader) (int, string, http.Header) {
	req, _ := http.NewRequest(method, g.base+path, body)
	req.Header.Set("X-Real-IP", g.ip)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := g.c.Do(req)
	if err != nil {
		t.Errorf("%s %s: %v", method, path, err)
		return 0, "", nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func (g *guessClient) form(t *testing.T, path string, v url.Values) (int, string, http.Header) {
	v.Set("_csrf", g.csrf)
	return g.do(t, "POST", path, "application/x-www-form-urlencoded", strings.NewReader(v.Encode()))
}

var badCredentialsRE = regexp.MustCompile(`madoguchi_login_failures_total\{reason="bad_credentials"\} ([0-9]+)`)

// judgedFailures is the guard's count of guesses judged and found wrong.
func judgedFailures(t *testing.T, e *env) int {
	m := badCredentialsRE.FindStringSubmatch(e.metrics(t))
	if m == nil {
		t.Fatal("no madoguchi_login_failures_total{reason=\"bad_credentials\"}")
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// TestParallelGuessesEveryPath fires all 366 birthdays for one card at once, each from its own
// address, through the web form, the API, the family path, and all three mixed: the guess is
// counted before it is judged, so at most the card's limit (5) are judged, and a login succeeds
// only if the right birthday was among them.
func TestParallelGuessesEveryPath(t *testing.T) {
	e := newEnv(t, nil, func(d *ui.Deps) { d.TrustedProxies = []string{"127.0.0.1"} })
	addr := serve(t, e)
	host := e.city.Slug + ".localhost"
	limit := 5 // guard.DefaultConfig().CardSoftLimit: the soft lock's 5 failures come first

	// The family path needs a citizen logged in with a card of their own.
	owner := bookingtest.MustCard(t, e.svc, e.city, "0101")
	family := newGuessClient(t, addr, host, "203.0.113.1")
	family.csrf = csrfOf(mustGet(t, family, "/login"))
	if st, body, _ := family.form(t, "/login", url.Values{"card_no": {owner.CardNo}, "month": {"1"}, "day": {"1"}}); st != 303 {
		t.Fatalf("owner login = %d: %.300s", st, body)
	}
	family.csrf = csrfOf(mustGet(t, family, "/family"))

	birthdays := allBirthdays()
	for run, path := range []string{"web", "api", "family", "mixed"} {
		t.Run(path, func(t *testing.T) {
			right := birthdays[(run*97+45)%366]
			card := bookingtest.MustCard(t, e.svc, e.city, right)
			clients := make([]*guessClient, 366)
			kinds := make([]string, 366)
			for i := range clients {
				kinds[i] = path
				if path == "mixed" {
					kinds[i] = []string{"web", "api", "family"}[i%3]
				}
				clients[i] = newGuessClient(t, addr, host, fmt.Sprintf("10.%d.%d.%d", 10+run, i/200, i%200+1))
				if kinds[i] == "web" {
					clients[i].csrf = csrfOf(mustGet(t, clients[i], "/login"))
				}
			}
			before := judgedFailures(t, e)
			var (
				wg      sync.WaitGroup
				start   = make(chan struct{})
				mu      sync.Mutex
				success []string
				byCode  = map[int]int{}
			)
			for i, mmdd := range birthdays {
				wg.Go(func() {
					<-start
					g, month, day := clients[i], strings.TrimLeft(mmdd[:2], "0"), strings.TrimLeft(mmdd[2:], "0")
					var st int
					var ok bool
					switch kinds[i] {
					case "web":
						st, _, _ = g.form(t, "/login", url.Values{"card_no": {card.CardNo}, "month": {month}, "day": {day}})
						ok = st == 303
					case "api":
						b, _ := json.Marshal(map[string]string{"card_no": card.CardNo, "birth": mmdd})
						st, _, _ = g.do(t, "POST", "/api/v1/session", "application/json", bytes.NewReader(b))
						ok = st == 201
					case "family":
						fg := *family
						fg.ip = g.ip
						st, _, _ = fg.form(t, "/family", url.Values{"card_no": {card.CardNo}, "month": {month}, "day": {day}})
						ok = st == 303
					}
					mu.Lock()
					defer mu.Unlock()
					byCode[st]++
					if ok {
						success = append(success, mmdd)
					}
				})
			}
			close(start)
			wg.Wait()
			judged := judgedFailures(t, e) - before + len(success)
			t.Logf("%s: %d of 366 guesses judged (answers by status %v), right birthday %s, logged in with %v", path, judged, byCode, right, success)
			// A right guess gives its attempt back and resets the card's count (the citizen is in):
			// guesses judged after it start a new count, and none of them can log in (the 366
			// birthdays are distinct). So at most limit before it and limit after.
			most := limit
			if len(success) == 1 {
				most = 2 * limit
			}
			if judged > most || judged < 1 {
				t.Errorf("%s: %d guesses judged, want 1..%d", path, judged, most)
			}
			if len(success) > 1 || (len(success) == 1 && success[0] != right) {
				t.Errorf("%s: logged in with %v, want at most the right birthday %s", path, success, right)
			}
			if len(success) == 0 {
				// The right birthday was not among the judged: the card is now locked for it too.
				g := newGuessClient(t, addr, host, "203.0.113.99")
				b, _ := json.Marshal(map[string]string{"card_no": card.CardNo, "birth": right})
				if st, body, _ := g.do(t, "POST", "/api/v1/session", "application/json", bytes.NewReader(b)); st != 429 {
					t.Errorf("%s: the right birthday afterwards = %d %.200s, want 429 (locked)", path, st, body)
				}
			}
		})
	}
}

func mustGet(t *testing.T, g *guessClient, path string) string {
	t.Helper()
	st, body, _ := g.do(t, "GET", path, "", nil)
	if st != 200 {
		t.Fatalf("GET %s = %d: %.300s", path, st, body)
	}
	return body
}
