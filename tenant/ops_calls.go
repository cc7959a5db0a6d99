package tenant

import (
	"context"
	"time"
)

// CallCount is the number of calls one operator handled for one city: callers whose card and
// birthday were verified (booking.Service.VerifyCaller), family members not counted again.
type CallCount struct {
	Login string `bun:"login_id"`
	Name  string `bun:"display_name"`
	Slug  string `bun:"slug"`
	City  string `bun:"city"`
	Calls int    `bun:"calls"`
}

// CallCounts returns the calls handled from from (inclusive) to to (exclusive), per operator and
// city, by operator then city; the call center's supervisors read it.
func (o *OpsAccounts) CallCounts(ctx context.Context, from, to time.Time) (_ []CallCount, err error) {
	defer Wrap(&err, "tenant.OpsAccounts.CallCounts()")
	var out []CallCount
	err = o.db.NewRaw(`SELECT a.login_id, a.display_name, t.slug, t.name AS city, count(*) AS calls
		FROM call_log l JOIN ops_accounts a ON a.id = l.operator JOIN tenants t ON t.id = l.tenant
		WHERE l.at >= ? AND l.at < ?
		GROUP BY a.login_id, a.display_name, t.slug, t.name ORDER BY a.login_id, t.slug`, from, to).Scan(ctx, &out)
	return out, DBError(err)
}
