-- 0013 down: remove the escalation chain's tables.
DROP TABLE IF EXISTS paging_heartbeats, page_events, notification_attempts, alerts, pages, escalation_policies, ops_contacts;
