-- 0011: the shared call center. Operators may be supervisors (they also see the calls handled
-- per operator and city); the calls operators handle are counted (a call = one caller whose card
-- and birthday were verified: who, which city, when — no personal data, so the table is
-- platform data like operator_grants); a reservation carries a short note of the call.
ALTER TABLE ops_accounts DROP CONSTRAINT IF EXISTS ops_accounts_role_check;
ALTER TABLE ops_accounts ADD CONSTRAINT ops_accounts_role_check
    CHECK (role IN ('ops', 'operator', 'supervisor'));

CREATE TABLE call_log (
    id        uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    operator  uuid NOT NULL REFERENCES ops_accounts (id),
    tenant    uuid NOT NULL REFERENCES tenants (id),
    at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX call_log_at_idx ON call_log (at);
GRANT SELECT, INSERT ON call_log TO {{app}};

ALTER TABLE reservations
    ADD COLUMN call_note text NOT NULL DEFAULT '' CHECK (length(call_note) <= 200);

-- A booking's detail page lists what staff and operators did to it: its audit rows by target.
CREATE INDEX audit_log_target_idx ON audit_log (tenant_id, target, at);
