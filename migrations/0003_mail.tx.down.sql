-- 0003 down: remove the mail ledger, mail templates, periodic claims and the reminder index.
REVOKE DELETE ON outbox FROM {{app}};
DROP INDEX IF EXISTS outbox_reminder_once, outbox_reservation_idx;
DROP TABLE IF EXISTS sent_mail, mail_templates, periodic_runs;
