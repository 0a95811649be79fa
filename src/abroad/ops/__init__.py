"""Voting-day operations: station reports, nowcasts from the present state, alerts with
actions. Pure: typed values in and out, no I/O (the server and the CLI are the edges).

- ``abroad.ops.reports``: the station report, its consistency check (accepted or quarantined
  with reasons) and idempotency by client id.
- ``abroad.ops.nowcast``: the arrival-rate update and the conditional simulation to closing.
- ``abroad.ops.actions``: extension, more servers, redirection, each by simulation.
- ``abroad.ops.alerts``: rules with per-election thresholds, each alert with its actions.
"""
