package ui

import (
	"html/template"
	"slices"
	"sync"

	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/booking"
)

// calendarMemo keeps the rendered month of the citizen calendar (the "calendar-body" block) per
// everything that block shows, and the days it was rendered from: a render is reused only when
// the days read for this request — from the availability cache, kept fresh by every channel's
// changes — are exactly the ones it was made of. So the memo never shows older places than the
// read: it only skips executing the template (a reflective walk over some 35 day cells, most of
// the page's CPU) when nothing changed.
//
// The key holds the city and the location (two cities never share a render), the month, the
// party size, the view, the language, today and the month links; the block shows nothing of the
// citizen or the session (no names, no CSRF token: those are in the page around it, rendered per
// request).
type calendarMemo struct {
	mu      sync.RWMutex
	renders map[calendarKey]*calendarRender
}

type calendarKey struct {
	tenant, location uuid.UUID
	month, today     booking.Date
	party            int
	list             bool
	lang             string
	prev, next       string
}

type calendarRender struct {
	days []booking.DayAvailability // what body shows; never changed
	body template.HTML
}

// calendarMemoMax bounds the renders kept (some 30 KB each): cities × locations × the months of
// the window × party sizes × views × languages actually asked for. Over it, renders are dropped
// at random (map order) down to three quarters.
const calendarMemoMax = 4096

func newCalendarMemo() *calendarMemo {
	return &calendarMemo{renders: map[calendarKey]*calendarRender{}}
}

// get returns the render of k if it was made of exactly days.
func (m *calendarMemo) get(k calendarKey, days []booking.DayAvailability) (template.HTML, bool) {
	m.mu.RLock()
	r := m.renders[k]
	m.mu.RUnlock()
	if r == nil || !slices.Equal(r.days, days) {
		return "", false
	}
	return r.body, true
}

// put keeps the render of k made of days (copied).
func (m *calendarMemo) put(k calendarKey, days []booking.DayAvailability, body template.HTML) {
	r := &calendarRender{days: slices.Clone(days), body: body}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.renders[k]; !ok && len(m.renders) >= calendarMemoMax {
		for k := range m.renders {
			if len(m.renders) <= calendarMemoMax*3/4 {
				break
			}
			delete(m.renders, k)
		}
	}
	m.renders[k] = r
}
