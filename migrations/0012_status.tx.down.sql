-- 0012 down: remove the status page's tables.
DROP TABLE IF EXISTS status_incident_updates, status_incidents, status_maintenances, status_heartbeats, status_intervals;
