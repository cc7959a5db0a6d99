package ui

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/madoguchi/madoguchi/booking"
	"github.com/madoguchi/madoguchi/ui/web"
)

// HelpPage is the data of the in-app manuals (help/manual.html: 操作マニュアル for counter staff,
// help/operations.html: 運用マニュアル for the 市管理者; spec 3(6), 3(7)エ). The text is written in
// the templates, in Japanese; the few values that differ per city come from here.
type HelpPage struct {
	BasePage
	SiteURL         string   // this city's booking site for citizens, e.g. https://matsusaka.example.lg.jp/
	AdminURL        []string // this city's staff address, e.g. https://matsusaka.example.lg.jp/admin, in parts
	StatusURL       []string // the public status page, reachable from the internet, in parts
	CallCenterPhone string   // empty when the city has not set one
	DeadlineDays    int
	DeadlineOpening bool // DeadlineDays counts 開庁日
	HorizonDays     int
	ReminderHour    int
	// Retention periods in days (運用マニュアル「個人情報の取扱いと保存期間」).
	NameDays, EmailDays, CardDays int
}

func (u *UI) helpPage(c *fiber.Ctx) *HelpPage {
	t := web.TenantOf(c)
	scheme := "https"
	if !u.deps.SecureCookies {
		scheme = "http"
	}
	host := strings.Clone(c.Hostname())
	status := "status." + u.deps.BaseDomain
	if _, port, ok := strings.Cut(host, ":"); ok {
		status += ":" + port
	}
	site := scheme + "://" + host + "/"
	return &HelpPage{BasePage: u.base(c), SiteURL: site, AdminURL: breakable(site + "admin"), StatusURL: breakable(scheme + "://" + status + "/"),
		CallCenterPhone: t.Settings.CallCenterPhone, DeadlineDays: booking.DeadlineDays(t), DeadlineOpening: t.Settings.DeadlineOpeningDays, HorizonDays: booking.HorizonDays(t),
		ReminderHour: booking.ReminderHour(t), NameDays: booking.NameRetentionDays(t), EmailDays: booking.EmailRetentionDays(t),
		CardDays: booking.CardRetentionDays(t)}
}

// helpManual is the 操作マニュアル: daily work at the counter.
func (u *UI) helpManual(c *fiber.Ctx) error { return u.render(c, "help/manual", u.helpPage(c)) }

// helpOperations is the 運用マニュアル: what the 市管理者 sets up and does when things go wrong.
func (u *UI) helpOperations(c *fiber.Ctx) error { return u.render(c, "help/operations", u.helpPage(c)) }

// breakable splits an address after each "/", "." and ":" so the template can offer a line break
// (<wbr>) there: a long address must not make a phone scroll sideways.
func breakable(s string) []string {
	var parts []string
	for s != "" {
		i := strings.IndexAny(s, "/.:")
		if i < 0 {
			return append(parts, s)
		}
		parts, s = append(parts, s[:i+1]), s[i+1:]
	}
	return parts
}
