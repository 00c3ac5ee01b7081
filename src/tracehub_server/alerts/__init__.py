"""Alerts: rules that notify people by email, webhook or Slack when something breaks.

The pieces, in the order a notification flows through them:

* ``storage.alert_outbox.queue_issue_triggers`` -- called by the digest inside its transaction:
  new issues and regressions become outbox rows (``alert_triggers``) that commit or roll
  back with the data.
* :mod:`.evaluate` -- the windowed rules (issue frequency, log volume), checked every
  ``alert_evaluate_seconds``; what fires becomes outbox rows too.
* :mod:`.planner` -- outbox rows become notifications, one per channel, under the noise
  control of :mod:`.noise` (per-issue interval, mutes, hourly cap folded into digests).
* :mod:`.dispatcher` -- delivers due notifications with retries, backoff and a deadline,
  through the channels in :mod:`.channels`.
* :mod:`.service` -- the periodic task that runs the three steps in every worker process and
  in the embedded server.

Delivery guarantee: **at least once, until the deadline**. A notification keeps its id
(``notification_id``) on every attempt, so a receiver that saw it already can drop the
repeat; repeats happen only when a dispatcher dies (or its lease expires) after the
receiver accepted a notification and before the success was recorded.
"""
