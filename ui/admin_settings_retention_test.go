package ui_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/tenant"
)

// TestAdminSettingsRetention: the 市管理者 sets how long personal data is kept. Wrong values
// (negative, huge, not a number, below the card floor) come back with Japanese messages and
// nothing is saved; full-width digits are accepted; a blank field goes back to the default; the
// change is audit-logged and the 運用マニュアル shows the city's periods.
func TestAdminSettingsRetention(t *testing.T) {
	e := newEnv(t, nil)
	mustStaffAccount(t, e, "kanri", tenant.RoleAdmin, "admin password one")
	b := newBrowser(t, serve(t, e), e.city.Slug+".localhost")
	staffLogin(t, b, "kanri", "admin password one")
	base := url.Values{"booking_deadline_days": {"1"}, "horizon_days": {"100"}, "reminder_hour": {"9"}}
	form := func(name, email, card string) url.Values {
		v := url.Values{"retention_name_days": {name}, "retention_email_days": {email}, "retention_card_days": {card}}
		for k, x := range base {
			v[k] = x
		}
		return v
	}

	b.get("/admin/settings")
	b.want(200, "個人情報の保存期間", "氏名・ふりがなの保存期間（日数）", `id="f-retention_name_days" name="retention_name_days" value="30"`,
		`name="retention_email_days" value="30"`, `name="retention_card_days" value="90"`)

	for _, c := range []struct {
		name            string
		nm, email, card string
		want            []string
	}{
		{"negative", "-1", "30", "90", []string{"氏名・ふりがなの保存期間は、1から365までの数字", `href="#f-retention_name_days"`}},
		{"huge", "30", "99999999999999999999", "90", []string{"メールアドレスの保存期間は、1から365までの数字", `value="99999999999999999999"`}},
		{"not a number", "30", "30", "三十日", []string{"カード情報の保存期間は、30から1825までの数字", `value="三十日"`}},
		{"below the card floor", "0", "30", "7", []string{"氏名・ふりがなの保存期間は", "カード情報の保存期間は"}},
		{"hostile", "<script>", "30' OR '1'='1", "90", []string{"&lt;script&gt;", "メールアドレスの保存期間は"}},
	} {
		b.post("/admin/settings", form(c.nm, c.email, c.card))
		b.want(422, append([]string{"<title>エラー：システム設定", "入力内容を確認してください"}, c.want...)...)
		if strings.Contains(b.last, "<script>") {
			t.Errorf("%s: the input is echoed unescaped", c.name)
		}
		if st := freshCity(t, e).Settings; st.HorizonDays != 0 || st.RetentionNameDays != nil || st.RetentionEmailDays != nil || st.RetentionCardDays != nil {
			t.Fatalf("%s: invalid settings were saved: %+v", c.name, st)
		}
	}

	// Full-width digits, as typed with the IME on, are accepted.
	b.post("/admin/settings", form("１４", " ４５ ", "365"))
	b.want(200, "設定を保存しました", `name="retention_name_days" value="14"`, `name="retention_email_days" value="45"`, `name="retention_card_days" value="365"`)
	st := freshCity(t, e).Settings
	if st.RetentionNameDays == nil || *st.RetentionNameDays != 14 || st.RetentionEmailDays == nil || *st.RetentionEmailDays != 45 ||
		st.RetentionCardDays == nil || *st.RetentionCardDays != 365 {
		t.Fatalf("saved settings = %+v", st)
	}
	b.get("/admin/help/operations")
	b.want(200, "個人情報の保存期間", "14日後に消去", "45日後に消去", "365日後に")

	var after string
	err := tenant.InTx(context.Background(), e.db.App, e.city.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw(`SELECT after->>'retention_email_days' FROM audit_log WHERE action = 'settings.update' AND actor = 'kanri'`).Scan(ctx, &after)
	})
	if err != nil || after != "45" {
		t.Errorf("audit settings.update retention_email_days = %q (%v), want 45", after, err)
	}

	// Blank: back to the default.
	b.get("/admin/settings")
	b.post("/admin/settings", form("", "", ""))
	b.want(200, "設定を保存しました", `name="retention_name_days" value="30"`, `name="retention_card_days" value="90"`)
	if st := freshCity(t, e).Settings; st.RetentionNameDays != nil || st.RetentionEmailDays != nil || st.RetentionCardDays != nil {
		t.Errorf("blank fields were saved as %+v", st)
	}

	// CSRF: a forged token changes nothing.
	b.post("/admin/settings", url.Values{"_csrf": {"forged"}, "retention_name_days": {"1"}})
	b.want(403)
	if st := freshCity(t, e).Settings; st.RetentionNameDays != nil {
		t.Errorf("a forged post saved %+v", st)
	}
}
