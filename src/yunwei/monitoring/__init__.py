"""Real-time monitoring and alerting (docs/monitoring.md): Prometheus rules rendered from the check
catalogue, the reviewed limits and the journal's baselines (:mod:`.rules`); ``yunwei alerts serve``,
the Alertmanager webhook receiver that records every alert, opens its ticket and forwards a Chinese
message to the configured channels (:mod:`.receiver`, :mod:`.channels`, :mod:`.record`)."""
