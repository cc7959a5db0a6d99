-- 0006: card CSV imports from the staff admin. import_profiles maps the columns of the city's own
-- J-LIS/対象者 CSV to ours (one row per tenant; no row means our Japanese column names).
-- import_jobs carries one uploaded file from the web process to the worker through PostgreSQL
-- (never local disk), its state, progress and result. The file's bytes are deleted once the job
-- is done, failed or cancelled; the counts and the row errors (line + Japanese reason, never a
-- value) are kept.

CREATE TABLE import_profiles (
    tenant_id       uuid NOT NULL REFERENCES tenants (id),
    col_card_no     text NOT NULL CHECK (length(col_card_no) BETWEEN 1 AND 50),
    col_birth       text NOT NULL CHECK (length(col_birth) BETWEEN 1 AND 50),
    col_name        text NOT NULL CHECK (length(col_name) BETWEEN 1 AND 50),
    col_name_kana   text NOT NULL CHECK (length(col_name_kana) BETWEEN 1 AND 50),
    col_storage_pos text NOT NULL CHECK (length(col_storage_pos) BETWEEN 1 AND 50),
    updated_by      text NOT NULL DEFAULT '',
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id)
);

CREATE TABLE import_jobs (
    tenant_id       uuid NOT NULL REFERENCES tenants (id),
    id              uuid NOT NULL DEFAULT gen_random_uuid(),
    uploaded_by     text NOT NULL,
    file_name       text NOT NULL CHECK (length(file_name) <= 255),
    file_size       bigint NOT NULL CHECK (file_size >= 0),
    file_bytes      bytea,
    state           text NOT NULL DEFAULT 'uploaded'
                    CHECK (state IN ('uploaded', 'validating', 'validated', 'committing', 'done', 'failed', 'cancelled')),
    progress_done   integer NOT NULL DEFAULT 0,
    progress_total  integer NOT NULL DEFAULT 0,
    new_count       integer NOT NULL DEFAULT 0,
    changed_count   integer NOT NULL DEFAULT 0,
    unchanged_count integer NOT NULL DEFAULT 0,
    rejected_count  integer NOT NULL DEFAULT 0,
    linked_count    integer NOT NULL DEFAULT 0,
    row_errors      jsonb NOT NULL DEFAULT '[]'::jsonb,
    error_message   text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    PRIMARY KEY (tenant_id, id),
    CHECK (file_bytes IS NULL OR state IN ('uploaded', 'validating', 'validated', 'committing'))
);
CREATE INDEX import_jobs_created_idx ON import_jobs (tenant_id, created_at DESC);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['import_profiles', 'import_jobs'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = (SELECT current_tenant_id())) '
                       'WITH CHECK (tenant_id = (SELECT current_tenant_id()))', t);
    END LOOP;
END $$;

GRANT SELECT, INSERT, UPDATE ON import_profiles TO {{app}};
GRANT SELECT, INSERT, UPDATE ON import_jobs TO {{app}};
