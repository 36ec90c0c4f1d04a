"""The nightly refresh: every asset, at 02:00 Paris time, running by default."""


import dagster as dg

nightly_refresh = dg.define_asset_job(
    "nightly_refresh",
    selection=dg.AssetSelection.all(),
    description="Re-read every source, re-validate, re-estimate and re-publish the barometer.",
)

nightly_refresh_schedule = dg.ScheduleDefinition(
    name="nightly_refresh_0200_paris",
    job=nightly_refresh,
    cron_schedule="0 2 * * *",
    execution_timezone="Europe/Paris",
    # Schedules are stopped by default in Dagster; the refresh is meant to run unattended.
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
