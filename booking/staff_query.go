package booking

import (
	"context"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/tenant"
)

// Staff queries: the bookings list and detail and the data of the printed lists (day list, pick
// list, status summary). Every read of a citizen's record writes the audit log; the tenant.Actor says
// who is reading.

// ReservationStatuses lists every reservation status, in display order.
var ReservationStatuses = []ReservationStatus{Booked, Visited, NoShow, Cancelled}

// Channels lists every booking channel, in display order.
var Channels = []tenant.Channel{tenant.ChannelWeb, tenant.ChannelCallCenter, tenant.ChannelStaff}

// CardStatuses lists every card status, in lifecycle order.
var CardStatuses = []CardStatus{CardImported, CardNoticeSent, CardReserved, CardVisited, CardIssued, CardReturned, CardOnHold, CardVoid}

// ReservationFilter selects reservations for the staff list. Zero fields do not filter; From and
// To are inclusive days (JST).
type ReservationFilter struct {
	From, To   Date
	LocationID uuid.UUID
	Clock      string // slot start "HH:MM" (JST)
	Status     ReservationStatus
	Channel    tenant.Channel
	CardNo     string // 製造管理番号, normalised
	Code       string // booking code, normalised
	Page       int    // 1-based
	PerPage    int    // default 50, at most 200
}

// Validate normalises f and returns invalid with per-field keys for a bad value.
func (f *ReservationFilter) Validate() error {
	fields := map[string]string{}
	if f.From != (Date{}) && f.To != (Date{}) && f.To.Before(f.From) {
		fields["to"] = "staff.bookings.filter.range_invalid"
	}
	if f.Clock != "" {
		c, ok := NormalizeClock(f.Clock)
		if !ok {
			fields["time"] = "staff.bookings.filter.time_invalid"
		}
		f.Clock = c
	}
	if f.Status != "" && !knownStatus(f.Status) {
		fields["status"] = "staff.bookings.filter.status_invalid"
	}
	if f.Channel != "" && !knownChannel(f.Channel) {
		fields["channel"] = "staff.bookings.filter.channel_invalid"
	}
	f.CardNo, f.Code = NormalizeCardNo(f.CardNo), NormalizeCode(f.Code)
	if len(f.CardNo) > 32 || !isAlnum(f.CardNo) {
		fields["card_no"] = "staff.bookings.filter.card_no_invalid"
	}
	if len(f.Code) > 32 || !isAlnum(f.Code) {
		fields["code"] = "staff.bookings.filter.code_invalid"
	}
	if f.Page < 1 {
		f.Page = 1
	}
	if f.PerPage < 1 {
		f.PerPage = 50
	}
	f.PerPage = min(f.PerPage, 200)
	if len(fields) > 0 {
		return &tenant.Error{Code: tenant.Invalid, Key: "error.invalid", Fields: fields}
	}
	return nil
}

// auditMap is the filter as recorded in the audit log (only what was set).
func (f ReservationFilter) auditMap() map[string]any {
	m := map[string]any{}
	if f.From != (Date{}) {
		m["from"] = f.From.String()
	}
	if f.To != (Date{}) {
		m["to"] = f.To.String()
	}
	if f.LocationID != uuid.Nil {
		m["location"] = f.LocationID.String()
	}
	for k, v := range map[string]string{"time": f.Clock, "status": string(f.Status), "channel": string(f.Channel),
		"card_no": f.CardNo, "code": f.Code} {
		if v != "" {
			m[k] = v
		}
	}
	return m
}

// where adds f's conditions to q, a query over reservations AS r: the one translation of the
// filter into SQL, for the list and the CSV export.
func (f ReservationFilter) where(q *bun.SelectQuery) *bun.SelectQuery {
	if f.From != (Date{}) {
		q = q.Where("r.starts_at >= ?", f.From.Time(0, 0))
	}
	if f.To != (Date{}) {
		q = q.Where("r.starts_at < ?", f.To.AddDays(1).Time(0, 0))
	}
	if f.LocationID != uuid.Nil {
		q = q.Where("r.location_id = ?", f.LocationID)
	}
	if f.Clock != "" {
		q = q.Where("to_char(r.starts_at AT TIME ZONE 'Asia/Tokyo', 'HH24:MI') = ?", f.Clock)
	}
	if f.Status != "" {
		q = q.Where("r.status = ?", f.Status)
	}
	if f.Channel != "" {
		q = q.Where("r.channel = ?", f.Channel)
	}
	if f.Code != "" {
		q = q.Where("r.code = ?", f.Code)
	}
	if f.CardNo != "" {
		q = q.Where(`EXISTS (SELECT 1 FROM reservation_cards rc JOIN cards c ON c.tenant_id = rc.tenant_id AND c.id = rc.card_id
			WHERE rc.reservation_id = r.id AND c.card_no = ?)`, f.CardNo)
	}
	return q
}

// NormalizeClock reads a time of day typed as "10:00", "1000", "10時", "９：３０" and returns
// "HH:MM"; ok is false for anything else.
func NormalizeClock(s string) (string, bool) {
	s = NormalizeCardNo(strings.NewReplacer("：", ":", "時", ":", "分", "").Replace(s))
	s = strings.TrimSuffix(s, ":")
	var hh, mm string
	if i := strings.IndexByte(s, ':'); i >= 0 {
		hh, mm = s[:i], s[i+1:]
	} else if len(s) >= 3 {
		hh, mm = s[:len(s)-2], s[len(s)-2:]
	} else {
		hh, mm = s, "00"
	}
	if len(hh) == 1 {
		hh = "0" + hh
	}
	if len(mm) == 1 {
		mm = "0" + mm
	}
	if !isDigits(hh) || !isDigits(mm) || len(hh) != 2 || len(mm) != 2 {
		return "", false
	}
	c, err := ParseClock(hh + ":" + mm)
	if err != nil || c >= 24*60 {
		return "", false
	}
	return c.String(), true
}

func knownStatus(s ReservationStatus) bool {
	for _, x := range ReservationStatuses {
		if x == s {
			return true
		}
	}
	return false
}

func knownChannel(c tenant.Channel) bool {
	for _, x := range Channels {
		if x == c {
			return true
		}
	}
	return false
}

func isAlnum(s string) bool {
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z') {
			return false
		}
	}
	return true
}

// ReservationRow is one line of the staff bookings list.
type ReservationRow struct {
	ID           uuid.UUID         `bun:"id"`
	Code         string            `bun:"code"`
	StartsAt     time.Time         `bun:"starts_at"`
	EndsAt       time.Time         `bun:"ends_at"`
	LocationID   uuid.UUID         `bun:"location_id"`
	LocationName string            `bun:"location_name"`
	Status       ReservationStatus `bun:"status"`
	Channel      tenant.Channel    `bun:"channel"`
	PartySize    int               `bun:"party_size"`
	MailError    string            `bun:"mail_error"`
}

// ReservationList is one page of the staff bookings list.
type ReservationList struct {
	Rows    []ReservationRow
	Total   int
	Page    int
	PerPage int
}

// Pages is the number of pages (at least 1).
func (l *ReservationList) Pages() int {
	if l.Total == 0 || l.PerPage == 0 {
		return 1
	}
	return (l.Total + l.PerPage - 1) / l.PerPage
}

// First and Last are the 1-based positions of the page's first and last rows (0 when empty).
func (l *ReservationList) First() int {
	if len(l.Rows) == 0 {
		return 0
	}
	return (l.Page-1)*l.PerPage + 1
}

// Last is the position of the page's last row (0 when empty).
func (l *ReservationList) Last() int {
	if len(l.Rows) == 0 {
		return 0
	}
	return l.First() + len(l.Rows) - 1
}

// SearchReservations returns one page of the tenant's reservations matching f, by start time,
// location and code, and logs the search (action "reservation.search"). It returns invalid with
// field keys for a bad filter.
func (s *Service) SearchReservations(ctx context.Context, t *tenant.Tenant, f ReservationFilter, v tenant.Actor) (_ *ReservationList, err error) {
	defer tenant.Wrap(&err, "booking.SearchReservations(%s)", t.ID)
	if err := f.Validate(); err != nil {
		return nil, err
	}
	out := &ReservationList{Page: f.Page, PerPage: f.PerPage}
	err = tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		q := tx.NewSelect().TableExpr("reservations AS r").
			Join("JOIN slots AS s ON s.tenant_id = r.tenant_id AND s.id = r.slot_id").
			Join("JOIN locations AS l ON l.tenant_id = r.tenant_id AND l.id = r.location_id").
			ColumnExpr("r.id, r.code, r.starts_at, s.ends_at, r.location_id, l.name AS location_name").
			ColumnExpr("r.status, r.channel, r.party_size, r.mail_error")
		q = f.where(q)
		n, err := q.Count(ctx)
		if err != nil {
			return err
		}
		out.Total = int(n)
		if err := q.OrderExpr("r.starts_at, l.sort_order, l.name, r.code").
			Limit(int64(f.PerPage)).Offset(int64((f.Page-1)*f.PerPage)).Scan(ctx, &out.Rows); err != nil {
			return err
		}
		return v.Audit(ctx, tx, t.ID, "reservation.search", "", nil,
			map[string]any{"filter": f.auditMap(), "page": f.Page, "rows": len(out.Rows), "total": n})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ReservationForStaff returns a reservation of the tenant with its location, slot and cards and
// what staff and call-center operators did to it (Actions, from the audit log), and logs the
// read (action "reservation.view"). Another tenant's id is not_found.
func (s *Service) ReservationForStaff(ctx context.Context, t *tenant.Tenant, id uuid.UUID, v tenant.Actor) (_ *ReservationView, err error) {
	defer tenant.Wrap(&err, "booking.ReservationForStaff(%s, %s)", t.ID, id)
	var rv *ReservationView
	err = tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if rv, err = loadView(ctx, tx, id); err != nil {
			return err
		}
		if err := tx.NewRaw(`SELECT at, actor, action, coalesce(after->>'reason', '') AS reason FROM audit_log
			WHERE target = ? AND action IN ('reservation.create', 'reservation.change', 'reservation.cancel',
				'reservation.checkin', 'reservation.no_show') ORDER BY at, id`, rv.Code).Scan(ctx, &rv.Actions); err != nil {
			return err
		}
		return v.Audit(ctx, tx, t.ID, "reservation.view", rv.Code, nil, map[string]any{"id": id.String()})
	})
	return rv, err
}

// reservationState is a reservation as the audit log records it.
func reservationState(r *Reservation) map[string]any {
	return map[string]any{"status": r.Status, "slot_id": r.SlotID.String(), "location_id": r.LocationID.String(),
		"starts_at": r.StartsAt.UTC().Format(time.RFC3339)}
}

// DayListEntry is one reservation on the printed day list, with its cards.
type DayListEntry struct {
	ReservationRow
	Cards []Card
}

// DayListLocation is one location's page of the printed day list.
type DayListLocation struct {
	Location Location
	Entries  []DayListEntry
	People   int
}

// DayList returns the day's reservations that are not cancelled, per location (display order)
// and time, each with its cards, and logs the read ("print.day"). A zero locationID lists every
// location that has reservations; a given one is listed even when empty (not_found when it is
// not the tenant's).
func (s *Service) DayList(ctx context.Context, t *tenant.Tenant, day Date, locationID uuid.UUID, v tenant.Actor) (_ []DayListLocation, err error) {
	defer tenant.Wrap(&err, "booking.DayList(%s, %s)", t.ID, locationID)
	var out []DayListLocation
	err = tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		var locs []Location
		q := tx.NewSelect().Model(&locs).Order("sort_order", "name")
		if locationID != uuid.Nil {
			q = q.Where("id = ?", locationID)
		}
		if err := q.Scan(ctx); err != nil {
			return err
		}
		if locationID != uuid.Nil && len(locs) == 0 {
			return tenant.Errorf(tenant.NotFound, "error.not_found")
		}
		var rows []ReservationRow
		rq := tx.NewSelect().TableExpr("reservations AS r").
			Join("JOIN slots AS s ON s.tenant_id = r.tenant_id AND s.id = r.slot_id").
			Join("JOIN locations AS l ON l.tenant_id = r.tenant_id AND l.id = r.location_id").
			ColumnExpr("r.id, r.code, r.starts_at, s.ends_at, r.location_id, l.name AS location_name").
			ColumnExpr("r.status, r.channel, r.party_size, r.mail_error").
			Where("r.starts_at >= ? AND r.starts_at < ?", day.Time(0, 0), day.AddDays(1).Time(0, 0)).
			Where("r.status <> ?", Cancelled).
			OrderExpr("r.starts_at, r.code")
		if locationID != uuid.Nil {
			rq = rq.Where("r.location_id = ?", locationID)
		}
		if err := rq.Scan(ctx, &rows); err != nil {
			return err
		}
		cards, err := cardsOf(ctx, tx, rows)
		if err != nil {
			return err
		}
		byLoc := map[uuid.UUID][]DayListEntry{}
		for _, r := range rows {
			byLoc[r.LocationID] = append(byLoc[r.LocationID], DayListEntry{ReservationRow: r, Cards: cards[r.ID]})
		}
		for _, l := range locs {
			es := byLoc[l.ID]
			if len(es) == 0 && locationID == uuid.Nil {
				continue
			}
			dl := DayListLocation{Location: l, Entries: es}
			for _, e := range es {
				dl.People += e.PartySize
			}
			out = append(out, dl)
		}
		after := map[string]any{"date": day.String(), "rows": len(rows)}
		if locationID != uuid.Nil {
			after["location"] = locationID.String()
		}
		return v.Audit(ctx, tx, t.ID, "print.day", "", nil, after)
	})
	return out, err
}

// cardsOf returns the cards of each reservation (all of them, also of cancelled links), by number.
func cardsOf(ctx context.Context, tx bun.IDB, rows []ReservationRow) (map[uuid.UUID][]Card, error) {
	out := map[uuid.UUID][]Card{}
	if len(rows) == 0 {
		return out, nil
	}
	ids := make([]uuid.UUID, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	type link struct {
		ReservationID uuid.UUID `bun:"reservation_id"`
		CardID        uuid.UUID `bun:"card_id"`
	}
	var links []link
	if err := tx.NewRaw("SELECT reservation_id, card_id FROM reservation_cards WHERE reservation_id IN (?)",
		bun.List(ids)).Scan(ctx, &links); err != nil {
		return nil, err
	}
	var cards []Card
	if err := tx.NewSelect().Model(&cards).
		Where("id IN (SELECT card_id FROM reservation_cards WHERE reservation_id IN (?))", bun.List(ids)).
		Order("card_no").Scan(ctx); err != nil {
		return nil, err
	}
	pos := map[uuid.UUID]int{}
	for i, c := range cards {
		pos[c.ID] = i
	}
	sort.SliceStable(links, func(i, j int) bool { return pos[links[i].CardID] < pos[links[j].CardID] })
	for _, l := range links {
		if i, ok := pos[l.CardID]; ok {
			out[l.ReservationID] = append(out[l.ReservationID], cards[i])
		}
	}
	return out, nil
}

// PickItem is one card to pull from storage before the counter opens.
type PickItem struct {
	CardNo       string     `bun:"card_no"`
	StoragePos   string     `bun:"storage_pos"`
	CardStatus   CardStatus `bun:"card_status"`
	Code         string     `bun:"code"`
	StartsAt     time.Time  `bun:"starts_at"`
	EndsAt       time.Time  `bun:"ends_at"`
	LocationName string     `bun:"location_name"`
}

// PickList returns every card held by a booked reservation of day (optionally at one location),
// sorted by storage position in natural order ("A-2" before "A-10"; cards without a position
// last), and logs the read ("print.picklist").
func (s *Service) PickList(ctx context.Context, t *tenant.Tenant, day Date, locationID uuid.UUID, v tenant.Actor) (_ []PickItem, err error) {
	defer tenant.Wrap(&err, "booking.PickList(%s, %s)", t.ID, locationID)
	var items []PickItem
	err = tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		q := tx.NewSelect().TableExpr("reservations AS r").
			Join("JOIN reservation_cards AS rc ON rc.tenant_id = r.tenant_id AND rc.reservation_id = r.id AND rc.active").
			Join("JOIN cards AS c ON c.tenant_id = rc.tenant_id AND c.id = rc.card_id").
			Join("JOIN slots AS s ON s.tenant_id = r.tenant_id AND s.id = r.slot_id").
			Join("JOIN locations AS l ON l.tenant_id = r.tenant_id AND l.id = r.location_id").
			ColumnExpr("c.card_no, c.storage_pos, c.status AS card_status, r.code, r.starts_at, s.ends_at, l.name AS location_name").
			Where("r.status = ?", Booked).
			Where("r.starts_at >= ? AND r.starts_at < ?", day.Time(0, 0), day.AddDays(1).Time(0, 0))
		if locationID != uuid.Nil {
			q = q.Where("r.location_id = ?", locationID)
		}
		if err := q.Scan(ctx, &items); err != nil {
			return err
		}
		after := map[string]any{"date": day.String(), "rows": len(items)}
		if locationID != uuid.Nil {
			after["location"] = locationID.String()
		}
		return v.Audit(ctx, tx, t.ID, "print.picklist", "", nil, after)
	})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(items, func(i, j int) bool {
		a, b := items[i], items[j]
		if (a.StoragePos == "") != (b.StoragePos == "") {
			return b.StoragePos == ""
		}
		if c := NaturalCompare(a.StoragePos, b.StoragePos); c != 0 {
			return c < 0
		}
		return a.CardNo < b.CardNo
	})
	return items, nil
}

// NaturalCompare compares strings with runs of digits by their numeric value: "A-2" < "A-10".
func NaturalCompare(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	i, j := 0, 0
	for i < len(ra) && j < len(rb) {
		if unicode.IsDigit(ra[i]) && unicode.IsDigit(rb[j]) {
			si, sj := i, j
			for i < len(ra) && unicode.IsDigit(ra[i]) {
				i++
			}
			for j < len(rb) && unicode.IsDigit(rb[j]) {
				j++
			}
			na := strings.TrimLeft(string(ra[si:i]), "0")
			nb := strings.TrimLeft(string(rb[sj:j]), "0")
			if len(na) != len(nb) {
				return cmpInt(len(na), len(nb))
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
			continue
		}
		if ra[i] != rb[j] {
			return cmpInt(int(ra[i]), int(rb[j]))
		}
		i++
		j++
	}
	return cmpInt(len(ra)-i, len(rb)-j)
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// StatusCount is a number of things in one status.
type StatusCount struct {
	Status string `bun:"status"`
	Count  int    `bun:"n"`
	People int    `bun:"people"`
}

// LocationStatusCounts are the reservations of one location by status.
type LocationStatusCounts struct {
	LocationID   uuid.UUID
	LocationName string
	ByStatus     map[ReservationStatus]StatusCount
	Total        StatusCount
}

// StatusSummary is the printed status summary: every card of the tenant by status (now), and
// the reservations starting in [From, To] by location and status.
type StatusSummary struct {
	From, To     Date
	Cards        map[CardStatus]int
	CardsTotal   int
	Locations    []LocationStatusCounts
	Reservations LocationStatusCounts // all locations
}

// Summary returns the status summary for reservations starting on days [from, to]. It returns
// invalid when to is before from. It reads counts only, so it writes no audit row.
func (s *Service) Summary(ctx context.Context, t *tenant.Tenant, from, to Date) (_ *StatusSummary, err error) {
	defer tenant.Wrap(&err, "booking.Summary(%s)", t.ID)
	if to.Before(from) {
		return nil, &tenant.Error{Code: tenant.Invalid, Key: "error.invalid", Fields: map[string]string{"to": "staff.bookings.filter.range_invalid"}}
	}
	out := &StatusSummary{From: from, To: to, Cards: map[CardStatus]int{},
		Reservations: LocationStatusCounts{ByStatus: map[ReservationStatus]StatusCount{}}}
	err = tenant.InTx(ctx, s.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
		var cards []StatusCount
		if err := tx.NewRaw("SELECT status, count(*) AS n, 0 AS people FROM cards GROUP BY status").Scan(ctx, &cards); err != nil {
			return err
		}
		for _, c := range cards {
			out.Cards[CardStatus(c.Status)] = c.Count
			out.CardsTotal += c.Count
		}
		var locs []Location
		if err := tx.NewSelect().Model(&locs).Order("sort_order", "name").Scan(ctx); err != nil {
			return err
		}
		type row struct {
			LocationID uuid.UUID `bun:"location_id"`
			Status     string    `bun:"status"`
			Count      int       `bun:"n"`
			People     int       `bun:"people"`
		}
		var rows []row
		if err := tx.NewRaw(`SELECT location_id, status, count(*) AS n, coalesce(sum(party_size), 0) AS people
			FROM reservations WHERE starts_at >= ? AND starts_at < ? GROUP BY location_id, status`,
			from.Time(0, 0), to.AddDays(1).Time(0, 0)).Scan(ctx, &rows); err != nil {
			return err
		}
		byLoc := map[uuid.UUID]*LocationStatusCounts{}
		for _, l := range locs {
			out.Locations = append(out.Locations, LocationStatusCounts{LocationID: l.ID, LocationName: l.Name,
				ByStatus: map[ReservationStatus]StatusCount{}})
		}
		for i := range out.Locations {
			byLoc[out.Locations[i].LocationID] = &out.Locations[i]
		}
		for _, r := range rows {
			lc := byLoc[r.LocationID]
			if lc == nil {
				continue
			}
			st := ReservationStatus(r.Status)
			lc.ByStatus[st] = StatusCount{Status: r.Status, Count: r.Count, People: r.People}
			lc.Total.Count += r.Count
			lc.Total.People += r.People
			all := out.Reservations.ByStatus[st]
			all.Status, all.Count, all.People = r.Status, all.Count+r.Count, all.People+r.People
			out.Reservations.ByStatus[st] = all
			out.Reservations.Total.Count += r.Count
			out.Reservations.Total.People += r.People
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
