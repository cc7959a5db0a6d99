package ui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/tenant"
	"github.com/madoguchi/madoguchi/ui/web"
)

const adminAuditPerPage = 50

// AdminAuditPage is the data of admin/audit.html.
type AdminAuditPage struct {
	BasePage
	From, To, Actor, Action string // the filter as typed
	Actions                 []AdminAuditAction
	Rows                    []AdminAuditRow
	Total, Page, Pages      int
	PrevURL, NextURL        string
}

// AdminAuditAction is one choice of the action filter.
type AdminAuditAction struct{ Value, Label string }

// AdminAuditRow is one audit entry as shown.
type AdminAuditRow struct {
	tenant.AuditRecord
	ActionLabel string
	TargetLabel string // a card's number instead of its id, when the card still exists
	Detail      string // before → after, readable
}

// adminAuditFilter reads the filter (from the query or the export form) into a domain query;
// dates are JST days, both inclusive.
func adminAuditFilter(get func(string) string) (p AdminAuditPage, q tenant.AuditQuery, fields map[string]string) {
	p.From, p.To = strings.TrimSpace(get("from")), strings.TrimSpace(get("to"))
	p.Actor, p.Action = strings.TrimSpace(get("actor")), strings.TrimSpace(get("action"))
	fields = map[string]string{}
	var from, to booking.Date
	var err error
	if p.From != "" {
		if from, err = booking.ParseDate(p.From); err != nil {
			fields["from"] = "audit.date.invalid"
		} else {
			q.From = from.Time(0, 0)
		}
	}
	if p.To != "" {
		if to, err = booking.ParseDate(p.To); err != nil {
			fields["to"] = "audit.date.invalid"
		} else {
			q.To = to.AddDays(1).Time(0, 0)
		}
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		fields["to"] = "audit.date.order"
	}
	if len(p.Actor) > 64 {
		fields["actor"] = "audit.filter.invalid"
	}
	if len(p.Action) > 64 {
		fields["action"] = "audit.filter.invalid"
	}
	q.Actor, q.Action = p.Actor, p.Action
	return p, q, fields
}

func (p *AdminAuditPage) url(page int) string {
	v := url.Values{}
	for k, x := range map[string]string{"from": p.From, "to": p.To, "actor": p.Actor, "action": p.Action} {
		if x != "" {
			v.Set(k, x)
		}
	}
	if page > 1 {
		v.Set("page", strconv.Itoa(page))
	}
	if len(v) == 0 {
		return "/admin/audit"
	}
	return "/admin/audit?" + v.Encode()
}

// adminActionLabel names an action in the page's language, or returns it as stored.
func (u *UI) adminActionLabel(lang, action string) string {
	if s, ok := u.locales[lang]["audit.actions."+action]; ok {
		return s
	}
	return action
}

// adminCardNumbers resolves the "card:<id>" targets of recs to card numbers.
func (u *UI) adminCardNumbers(c *fiber.Ctx, recs []tenant.AuditRecord) (map[uuid.UUID]string, error) {
	var ids []uuid.UUID
	for _, r := range recs {
		if id, ok := adminCardID(r.Target); ok {
			ids = append(ids, id)
		}
	}
	return u.deps.Booking.CardNumbers(c.UserContext(), web.TenantOf(c), ids)
}

func adminCardID(target string) (uuid.UUID, bool) {
	rest, ok := strings.CutPrefix(target, "card:")
	if !ok {
		return uuid.Nil, false
	}
	id, err := uuid.Parse(rest)
	return id, err == nil
}

// adminJSON writes a JSON object as "key: value, …" (sorted keys), so it reads and wraps.
func adminJSON(s string) string {
	if s == "" {
		return ""
	}
	var m map[string]any
	if json.Unmarshal([]byte(s), &m) != nil {
		return s
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s: %v", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func adminDetail(r tenant.AuditRecord) string {
	b, a := adminJSON(r.Before), adminJSON(r.After)
	switch {
	case b != "" && a != "":
		return b + " → " + a
	case b != "":
		return b + " →"
	}
	return a
}

func (u *UI) adminAudit(c *fiber.Ctx) error {
	p, q, fields := adminAuditFilter(func(k string) string { return strings.Clone(c.Query(k)) })
	p.BasePage = u.base(c)
	actions, err := u.deps.Accounts.AuditActions(c.UserContext(), web.TenantOf(c))
	if err != nil {
		return err
	}
	for _, a := range actions {
		p.Actions = append(p.Actions, AdminAuditAction{Value: a, Label: u.adminActionLabel(p.Lang, a)})
	}
	if len(fields) > 0 {
		p.Errors = fields
		c.Status(fiber.StatusUnprocessableEntity)
		return u.render(c, "admin/audit", &p)
	}
	q.Page, q.PerPage = admPageNo(c.Query("page")), adminAuditPerPage
	recs, total, page, err := u.deps.Accounts.AuditLog(c.UserContext(), web.TenantOf(c), q)
	if err != nil {
		return err
	}
	nums, err := u.adminCardNumbers(c, recs)
	if err != nil {
		return err
	}
	p.Total, p.Page, p.Pages = total, page, max((total+adminAuditPerPage-1)/adminAuditPerPage, 1)
	for _, r := range recs {
		row := AdminAuditRow{AuditRecord: r, ActionLabel: u.adminActionLabel(p.Lang, r.Action), TargetLabel: r.Target, Detail: adminDetail(r)}
		if id, ok := adminCardID(r.Target); ok {
			if no, ok := nums[id]; ok {
				row.TargetLabel = u.locales.T(p.Lang, "audit.target.card", map[string]any{"no": no})
			} else {
				row.TargetLabel = u.locales.T(p.Lang, "audit.target.card_gone", nil)
			}
		}
		p.Rows = append(p.Rows, row)
	}
	if page > 1 {
		p.PrevURL = p.url(page - 1)
	}
	if page < p.Pages {
		p.NextURL = p.url(page + 1)
	}
	return u.render(c, "admin/audit", &p)
}

// adminAuditExport sends the filtered audit log as CSV for Excel through the one CSV writer of
// every export (booking.CSVWriter: UTF-8 with BOM, CRLF, formula cells defused). The export is itself audit-logged with its row count, filter and the SHA-256
// of the file before the file is sent: if logging fails, nothing is sent.
func (u *UI) adminAuditExport(c *fiber.Ctx) error {
	p, q, fields := adminAuditFilter(func(k string) string { return strings.Clone(c.FormValue(k)) })
	if len(fields) > 0 {
		return &tenant.Error{Code: tenant.Invalid, Key: "audit.date.invalid", Fields: fields}
	}
	t := web.TenantOf(c)
	recs, err := u.deps.Accounts.AuditExport(c.UserContext(), t, q)
	if err != nil {
		return err
	}
	nums, err := u.adminCardNumbers(c, recs)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	w, err := booking.NewCSVWriter(&buf, booking.EncodingUTF8)
	if err != nil {
		return err
	}
	if err := w.Write([]string{"日時", "操作者", "操作", "操作名", "対象", "製造管理番号", "変更前", "変更後", "IPアドレス"}); err != nil {
		return err
	}
	for _, r := range recs {
		no := ""
		if id, ok := adminCardID(r.Target); ok {
			no = nums[id]
		}
		if err := w.Write([]string{r.At.In(booking.JST).Format("2006-01-02 15:04:05"), r.Actor, r.Action, u.adminActionLabel("ja", r.Action),
			r.Target, no, r.Before, r.After, r.IP}); err != nil {
			return err
		}
	}
	sum := w.Result().SHA256
	a := staffActorOf(c)
	if err := u.deps.Accounts.RecordAudit(c.UserContext(), t, tenant.AuditEntry{Actor: a.Login, Action: "audit.export", IP: a.IP,
		After: map[string]any{"rows": len(recs), "sha256": sum,
			"from": p.From, "to": p.To, "actor": p.Actor, "action": p.Action}}); err != nil {
		return err
	}
	name := "audit-" + t.Slug + "-" + u.now().In(booking.JST).Format("20060102-150405") + ".csv"
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+name+`"`)
	return c.Send(buf.Bytes())
}
