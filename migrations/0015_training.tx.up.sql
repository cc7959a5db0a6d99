-- 0015: the training city (研修用). The vendor makes a copy of a city for its staff to practise
-- on: its own tenants row, marked by training_of (the city it was copied from), with its own host
-- name, staff accounts and data, all under row-level security like any city. One training copy
-- per city, and never a copy of a copy.
--
-- A training city is put back to its fresh state every night (and when the vendor asks): its
-- practice bookings, cards and audit log are deleted and made again. The runtime role may not
-- delete a city's bookings or audit log; it may now, but only a training city's: a restrictive
-- policy on DELETE, combined with the tenant scope, refuses every row of any other city.
ALTER TABLE tenants
    ADD COLUMN training_of uuid REFERENCES tenants (id),
    ADD CONSTRAINT tenants_training_not_self CHECK (training_of <> id);
CREATE UNIQUE INDEX tenants_training_of_key ON tenants (training_of) WHERE training_of IS NOT NULL;

-- tenant_is_training is true for a training city's id. tenants is a global table (no RLS).
CREATE FUNCTION tenant_is_training(uuid) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT EXISTS (SELECT 1 FROM tenants WHERE id = $1 AND training_of IS NOT NULL) $$;
GRANT EXECUTE ON FUNCTION tenant_is_training(uuid) TO {{app}};

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['reservations', 'audit_log'] LOOP
        EXECUTE format('CREATE POLICY training_reset ON %I AS RESTRICTIVE FOR DELETE '
                       'USING (tenant_is_training(tenant_id))', t);
    END LOOP;
END $$;
GRANT DELETE ON reservations, audit_log TO {{app}};
