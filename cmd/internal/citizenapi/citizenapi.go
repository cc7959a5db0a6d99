// Package citizenapi is the citizen's side of the booking API as the load tools play it: the
// login body, the session answer, the availability read with slot lists and the choice of a free
// slot, and the JSON request with the session's bearer token. The booking bench
// (cmd/madoguchi-bench) and the failure drills (cmd/madoguchi, build tag drill) drive citizens
// with it; each keeps its own accounting of answers and failures.
package citizenapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/booking/guard"
)

// Birthday is the login birthday of the i-th card of a load tool's pool (every month, days 1–28).
func Birthday(i int) (month, day int) { return i%12 + 1, i%28 + 1 }

// Login is the body of POST /api/v1/session for a 9-digit card number and its birthday.
func Login(cardNo int, month, day int) map[string]string {
	return map[string]string{"card_no": fmt.Sprintf("%09d", cardNo), "birth": fmt.Sprintf("%02d%02d", month, day)}
}

// Session is the answer of POST /api/v1/session: a token, or (429 login.step_up) the proof of
// work the city asks for first.
type Session struct {
	Token    string `json:"token"`
	Code     string `json:"code"`
	PowToken string `json:"pow_token"`
}

// StepUp reports whether the answer asks for a proof of work; it then adds the solved proof to
// login, as the login page's script does, for the login to be sent again.
func (s *Session) StepUp(status int, login map[string]string) bool {
	if status != http.StatusTooManyRequests || s.Code != "login.step_up" || s.PowToken == "" {
		return false
	}
	login["pow_token"], login["pow_nonce"] = s.PowToken, guard.SolvePow(s.PowToken)
	return true
}

// AvailabilityPath is GET /api/v1/availability of a place from..to with the slot lists.
func AvailabilityPath(location fmt.Stringer, from, to booking.Date) string {
	return "/api/v1/availability?" + url.Values{"location": {location.String()},
		"from": {from.String()}, "to": {to.String()}, "slots": {"1"}}.Encode()
}

// FreeSlots reads an availability answer and returns the ids of up to max slots with a place
// left, earliest first; none means every place is gone.
func FreeSlots(body []byte, max int) ([]string, error) {
	var a struct {
		Days []struct {
			Slots []struct {
				ID        string `json:"id"`
				Remaining int    `json:"remaining"`
			} `json:"slots"`
		} `json:"days"`
	}
	if err := json.Unmarshal(body, &a); err != nil {
		return nil, fmt.Errorf("availability: %w", err)
	}
	var free []string
	for _, d := range a.Days {
		for _, s := range d.Slots {
			if s.Remaining > 0 && len(free) < max {
				free = append(free, s.ID)
			}
		}
	}
	return free, nil
}

// NewRequest is an API request: body (if any) as JSON, token (if any) as the bearer.
func NewRequest(ctx context.Context, method, url, token string, body any) (*http.Request, error) {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return nil, err
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req, nil
}
