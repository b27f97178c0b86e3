"""Schedules: schedule.yml (cron per job, heightened-protection windows), rendered to cron or
systemd, evaluated by ``yunwei schedule due|tick``. Only the approved copy is ever used."""
