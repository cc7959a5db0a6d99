package tenant_test

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/madoguchi/madoguchi/tenant"
)

// recordWorld is a platform with one city (with its admin, a custom domain and an allow-list),
// an operator granted it, and a switch that makes every insert into the city's audit log and the
// vendor's log fail.
type recordWorld struct {
	*platform
	city    *tenant.Tenant
	status  *tenant.StatusPage
	op      *tenant.OpsAccount
	opPW    string
	secret  string
	changed bool // the operator's issued password was changed
}

func newVendorRecordWorld(t *testing.T) *recordWorld {
	t.Helper()
	p := newPlatform(t)
	ctx := context.Background()
	// The owner installs the switch: a trigger refusing log rows while refuse_records has a row.
	for _, q := range []string{
		`CREATE TABLE refuse_records (on_ boolean PRIMARY KEY)`,
		`CREATE FUNCTION refuse_records() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN
				IF EXISTS (SELECT 1 FROM refuse_records) THEN
					RAISE EXCEPTION 'record refused by the test' USING ERRCODE = 'P0001';
				END IF;
				RETURN NEW;
			END $$`,
		`CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION refuse_records()`,
		`CREATE TRIGGER refuse_ops_audit BEFORE INSERT ON ops_audit_log FOR EACH ROW EXECUTE FUNCTION refuse_records()`,
		fmt.Sprintf(`GRANT SELECT ON refuse_records TO %q`, p.d.AppRole),
	} {
		if _, err := p.d.Owner.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	w := &recordWorld{platform: p, status: tenant.NewStatusPage(p.d.App, p.clock.Now)}
	w.city, _ = p.onboard(t, "tsu", "242012")
	if _, err := p.svc.AddDomain(ctx, "tsu", "yoyaku.city.tsu.mie.jp", vendor); err != nil {
		t.Fatal(err)
	}
	st := w.city.Settings
	st.AdminAllowList = []string{"192.0.2.0/24"}
	if err := p.svc.UpdateSettings(ctx, w.city.ID, st); err != nil {
		t.Fatal(err)
	}
	var err error
	if w.op, w.opPW, err = p.ops.Create(ctx, "cc.tanaka", "田中", tenant.OpsRoleOperator, vendor); err != nil {
		t.Fatal(err)
	}
	if err := p.ops.Grant(ctx, w.op.ID, "tsu", vendor); err != nil {
		t.Fatal(err)
	}
	if _, err := p.ops.Allow(ctx, tenant.ConsoleOps, "203.0.113.0/24", "", vendor); err != nil {
		t.Fatal(err)
	}
	w.secret, _ = tenant.NewOpsTOTPSecret("cc.tanaka")
	return w
}

// passwordChanged changes the operator's issued password, once.
func (w *recordWorld) passwordChanged(t *testing.T) {
	t.Helper()
	if w.changed {
		return
	}
	if err := w.ops.ChangePassword(context.Background(), w.op.ID, w.opPW, "a new long passphrase", ""); err != nil {
		t.Fatal(err)
	}
	w.changed = true
}

func (w *recordWorld) refuse(t *testing.T, on bool) {
	t.Helper()
	q := "DELETE FROM refuse_records"
	if on {
		q = "INSERT INTO refuse_records VALUES (true)"
	}
	if _, err := w.d.Owner.ExecContext(context.Background(), q); err != nil {
		t.Fatal(err)
	}
}

// snapshot digests the platform's tables and the city's staff accounts, so a case can prove that
// nothing at all changed.
func (w *recordWorld) snapshot(t *testing.T) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	digest := func(db bun.IDB, table string) {
		var d string
		q := fmt.Sprintf(`SELECT md5(coalesce(string_agg(x::text, E'\n' ORDER BY x::text), '')) FROM %s x`, bun.Ident(table))
		if err := db.NewRaw(q).Scan(ctx, &d); err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		out[table] = d
	}
	for _, table := range []string{"tenants", "tenant_domains", "ops_accounts", "operator_grants", "ops_ip_allow", "ops_audit_log",
		"status_incidents", "status_incident_updates", "status_maintenances"} {
		digest(w.d.App, table)
	}
	err := tenant.InTx(ctx, w.d.App, w.city.ID, func(ctx context.Context, tx bun.Tx) error {
		digest(tx, "staff_accounts")
		digest(tx, "audit_log")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// vendorRecordCases: each mutating method of tenant.Service and tenant.OpsAccounts, as a function
// that makes one change (setting up what it needs first, with the switch off).
var vendorRecordCases = map[string]func(t *testing.T, w *recordWorld) func(context.Context) error{
	"Service.Onboard": func(t *testing.T, w *recordWorld) func(context.Context) error {
		return func(ctx context.Context) error {
			_, _, err := w.svc.Onboard(ctx, tenant.OnboardInput{Slug: "kameyama", Name: "亀山市", Code: "242101", AdminLogin: "k.admin"}, vendor)
			return err
		}
	},
	"Service.SetStatus": func(t *testing.T, w *recordWorld) func(context.Context) error {
		return func(ctx context.Context) error { return w.svc.SetStatus(ctx, "tsu", tenant.Disabled, vendor) }
	},
	"Service.AdminReset": func(t *testing.T, w *recordWorld) func(context.Context) error {
		return func(ctx context.Context) error {
			_, _, err := w.svc.AdminReset(ctx, "tsu", "tsu.admin", vendor)
			return err
		}
	},
	"Service.AddDomain": func(t *testing.T, w *recordWorld) func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := w.svc.AddDomain(ctx, "tsu", "www.city.tsu.mie.jp", vendor)
			return err
		}
	},
	"Service.RemoveDomain": func(t *testing.T, w *recordWorld) func(context.Context) error {
		return func(ctx context.Context) error {
			return w.svc.RemoveDomain(ctx, "tsu", "yoyaku.city.tsu.mie.jp", vendor)
		}
	},
	"Service.ClearAdminAllowList": func(t *testing.T, w *recordWorld) func(context.Context) error {
		return func(ctx context.Context) error { _, err := w.svc.ClearAdminAllowList(ctx, "tsu", vendor); return err }
	},
	"Service.SetMailDomains": func(t *testing.T, w *recordWorld) func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := w.svc.SetMailDomains(ctx, "tsu", []string{"city.tsu.mie.jp"}, vendor)
			return err
		}
	},
	"OpsAccounts.Create": func(t *testing.T, w *recordWorld) func(context.Context) error {
		return func(ctx context.Context) error {
			_, _, err := w.ops.Create(ctx, "ops.new", "新人", tenant.OpsRoleOps, vendor)
			return err
		}
	},
	"OpsAccounts.Authenticate": func(t *testing.T, w *recordWorld) func(context.Context) error {
		// A failure is counted and logged together.
		return func(ctx context.Context) error {
			_, err := w.ops.Authenticate(ctx, "cc.tanaka", "wrong password", "")
			if tenant.ErrorCode(err) == tenant.Unauthorized {
				return nil // the count went through without its log line
			}
			return err
		}
	},
	"OpsAccounts.ChangePassword": func(t *testing.T, w *recordWorld) func(context.Context) error {
		current := w.opPW
		if w.changed {
			current = "a new long passphrase"
		}
		return func(ctx context.Context) error {
			return w.ops.ChangePassword(ctx, w.op.ID, current, "another long passphrase", "")
		}
	},
	"OpsAccounts.EnableTOTP": func(t *testing.T, w *recordWorld) func(context.Context) error {
		w.passwordChanged(t)
		return func(ctx context.Context) error {
			_, err := w.ops.EnableTOTP(ctx, w.op.ID, w.secret, w.code(t, w.secret, 0), "")
			return err
		}
	},
	"OpsAccounts.VerifyLoginCode": func(t *testing.T, w *recordWorld) func(context.Context) error {
		w.passwordChanged(t)
		if _, err := w.ops.EnableTOTP(context.Background(), w.op.ID, w.secret, w.code(t, w.secret, -30*time.Second), ""); err != nil {
			t.Fatal(err)
		}
		return func(ctx context.Context) error {
			_, err := w.ops.VerifyLoginCode(ctx, w.op.ID, w.code(t, w.secret, 0), "")
			return err
		}
	},
	"OpsAccounts.Reset": func(t *testing.T, w *recordWorld) func(context.Context) error {
		return func(ctx context.Context) error { _, _, err := w.ops.Reset(ctx, w.op.ID, true, vendor); return err }
	},
	"OpsAccounts.SetDisabled": func(t *testing.T, w *recordWorld) func(context.Context) error {
		return func(ctx context.Context) error { _, err := w.ops.SetDisabled(ctx, w.op.ID, true, vendor); return err }
	},
	"OpsAccounts.Grant": func(t *testing.T, w *recordWorld) func(context.Context) error {
		w.onboard(t, "matsusaka", "242047")
		return func(ctx context.Context) error { return w.ops.Grant(ctx, w.op.ID, "matsusaka", vendor) }
	},
	"OpsAccounts.Revoke": func(t *testing.T, w *recordWorld) func(context.Context) error {
		return func(ctx context.Context) error { return w.ops.Revoke(ctx, w.op.ID, "tsu", vendor) }
	},
	"OpsAccounts.CheckGrant": func(t *testing.T, w *recordWorld) func(context.Context) error {
		// A refusal that cannot be logged is still a refusal.
		return func(ctx context.Context) error {
			err := w.ops.CheckGrant(ctx, uuid.New(), w.city.ID, "")
			if err == nil {
				t.Error("CheckGrant(unknown operator) let it through")
			}
			return err
		}
	},
	"OpsAccounts.Allow": func(t *testing.T, w *recordWorld) func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := w.ops.Allow(ctx, tenant.ConsoleCallCenter, "198.51.100.0/24", "", vendor)
			return err
		}
	},
	"StatusPage.PostIncident": func(t *testing.T, w *recordWorld) func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := w.status.PostIncident(ctx, recordIncident(w), vendor)
			return err
		}
	},
	"StatusPage.UpdateIncident": func(t *testing.T, w *recordWorld) func(context.Context) error {
		inc, err := w.status.PostIncident(context.Background(), recordIncident(w), vendor)
		if err != nil {
			t.Fatal(err)
		}
		return func(ctx context.Context) error {
			return w.status.UpdateIncident(ctx, inc.ID, tenant.UpdateInput{Status: tenant.IncidentResolved, BodyJA: "復旧しました。", BodyEN: "Resolved."}, vendor)
		}
	},
	"StatusPage.ScheduleMaintenance": func(t *testing.T, w *recordWorld) func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := w.status.ScheduleMaintenance(ctx, recordMaintenance(w), vendor)
			return err
		}
	},
	"StatusPage.EditMaintenance": func(t *testing.T, w *recordWorld) func(context.Context) error {
		m, err := w.status.ScheduleMaintenance(context.Background(), recordMaintenance(w), vendor)
		if err != nil {
			t.Fatal(err)
		}
		in := recordMaintenance(w)
		in.TitleJA = "変更した保守"
		return func(ctx context.Context) error { return w.status.EditMaintenance(ctx, m.ID, in, vendor) }
	},
	"StatusPage.CancelMaintenance": func(t *testing.T, w *recordWorld) func(context.Context) error {
		m, err := w.status.ScheduleMaintenance(context.Background(), recordMaintenance(w), vendor)
		if err != nil {
			t.Fatal(err)
		}
		return func(ctx context.Context) error { return w.status.CancelMaintenance(ctx, m.ID, vendor) }
	},
	"OpsAccounts.Disallow": func(t *testing.T, w *recordWorld) func(context.Context) error {
		return func(ctx context.Context) error {
			elsewhere := vendor // removing the entry one works from is refused before any write
			elsewhere.IP = "192.0.2.9"
			return w.ops.Disallow(ctx, tenant.ConsoleOps, "203.0.113.0/24", elsewhere)
		}
	},
}

// vendorUnrecorded are the exported methods that write no log line: reads, the bare Create of
// tests and benchmarks, and UpdateSettings, whose caller (booking.UpdateSettings) writes the
// line in its own transaction.
var vendorUnrecorded = []string{
	"Service.BySlug", "Service.Cities", "Service.City", "Service.Create", "Service.Domains", "Service.List", "Service.UpdateSettings",
	"OpsAccounts.AllowList", "OpsAccounts.ByID", "OpsAccounts.CallCounts", "OpsAccounts.ByLogin", "OpsAccounts.ConsoleAllowed", "OpsAccounts.Grants",
	"OpsAccounts.List", "OpsAccounts.Locked",
	// The status page: reads, and the system's own writes (the watchdog's log, the web
	// processes' heartbeats), which are no vendor action.
	"StatusPage.Data", "StatusPage.Heartbeat", "StatusPage.Incident", "StatusPage.Incidents", "StatusPage.Maintenance",
	"StatusPage.Maintenances", "StatusPage.Notices", "StatusPage.RecordStates", "StatusPage.Signals",
}

// recordIncident is an incident affecting the world's city.
func recordIncident(w *recordWorld) tenant.IncidentInput {
	return tenant.IncidentInput{TitleJA: "予約画面の障害", TitleEN: "Booking outage", Impact: "major", Cities: []string{w.city.Slug},
		Components: map[tenant.Component]tenant.ComponentState{tenant.CompCitizen: tenant.StateMajor},
		Update:     tenant.UpdateInput{Status: tenant.IncidentInvestigating, BodyJA: "調査しています。", BodyEN: "Investigating."}}
}

// recordMaintenance is a maintenance of every city 40 days ahead.
func recordMaintenance(w *recordWorld) tenant.MaintenanceInput {
	start := w.clock.Now().Add(40 * 24 * time.Hour)
	return tenant.MaintenanceInput{TitleJA: "定期保守", TitleEN: "Maintenance", Components: []tenant.Component{tenant.CompCitizen},
		StartsAt: start, EndsAt: start.Add(2 * time.Hour)}
}

// TestVendorChangeRollsBackWithItsRecord: when the log line of a vendor action cannot be written,
// the action fails and changes nothing, for every mutating method of tenant.Service and
// tenant.OpsAccounts (found by reflection: a new method must get a case or be listed as
// unrecorded).
func TestVendorChangeRollsBackWithItsRecord(t *testing.T) {
	known := map[string]bool{}
	for _, name := range vendorUnrecorded {
		known[name] = true
	}
	var missing []string
	for _, typ := range []reflect.Type{reflect.TypeOf(&tenant.Service{}), reflect.TypeOf(&tenant.OpsAccounts{}), reflect.TypeOf(&tenant.StatusPage{})} {
		for i := range typ.NumMethod() {
			name := typ.Elem().Name() + "." + typ.Method(i).Name
			if _, ok := vendorRecordCases[name]; !ok && !known[name] {
				missing = append(missing, name)
			}
			delete(known, name)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("exported methods with no record case and not listed as unrecorded: %v", missing)
	}
	for name := range known {
		t.Errorf("vendorUnrecorded lists %s, which is no method", name)
	}
	names := make([]string, 0, len(vendorRecordCases))
	for name := range vendorRecordCases {
		names = append(names, name)
	}
	sort.Strings(names)
	w := newVendorRecordWorld(t)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			// The cases share one world: an action that works as it should changes nothing, and
			// the set-ups do not get in each other's way.
			act := vendorRecordCases[name](t, w)
			before := w.snapshot(t)
			w.refuse(t, true)
			err := act(context.Background())
			w.refuse(t, false)
			if err == nil || !strings.Contains(err.Error(), "record refused by the test") {
				t.Errorf("%s = %v, want it to fail for its refused log line", name, err)
			}
			if after := w.snapshot(t); !reflect.DeepEqual(after, before) {
				for k := range before {
					if before[k] != after[k] {
						t.Errorf("%s changed %s although its log line was refused", name, k)
					}
				}
			}
		})
	}
}
