"""The console's Flask app: server-rendered pages with stable URLs, and two POST actions.

Safety on an operator's machine:

* it listens on 127.0.0.1 only (:mod:`console.serve`) and answers only requests addressed to a
  loopback name, so a web page cannot reach it through DNS rebinding;
* every POST carries an anti-CSRF token bound to the console session (a random value in the
  signed session cookie, compared in constant time): without it the answer is 403 and nothing
  changes; the cookie is ``SameSite=Strict`` as well;
* every action first shows what it will do (the records or messages it touches), and only a
  second POST with ``confirm`` does it;
* no page shows a signing secret (the console never reads the sources secret) nor a signature
  (:mod:`console.redact`).
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from flask import Flask, Response, abort, render_template, request, session

from chalicelib.webhooks.record import STATUSES, WebhookStatus
from console import redact
from console.data import Console, payment_key_of, status_trail
from ops import records
from ops.stage import OpsError

CSRF_FIELD = "csrf_token"
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "[::1]"})
POLL_MILLISECONDS = 2000
REMOTE_POLL_MILLISECONDS = 15000
"""A deployed stage's list is a Scan of its table (as ``ops list``): read less often there."""


def _csrf_token() -> str:
    token = session.get(CSRF_FIELD)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session[CSRF_FIELD] = token
    return token


def _aws_message(exc: Exception) -> str | None:
    from ops.main import _aws_message as one_line  # the CLI's own wording for AWS failures

    return one_line(exc)


def create_app(console: Console, secret_key: bytes | None = None) -> Flask:
    app = Flask(__name__)
    app.secret_key = secret_key or secrets.token_bytes(32)  # a new session per console run
    app.config.update(SESSION_COOKIE_SAMESITE="Strict", SESSION_COOKIE_HTTPONLY=True)

    @app.context_processor
    def shared() -> dict[str, Any]:
        return {
            "stage": console.stage, "csrf_token": _csrf_token, "csrf_field": CSRF_FIELD, "FAILED": WebhookStatus.FAILED
        }

    @app.before_request
    def only_loopback_and_tokens() -> Response | None:
        if request.host.rsplit(":", 1)[0] not in LOOPBACK_NAMES:
            abort(400, "the console answers only on 127.0.0.1")
        if request.method == "POST":
            sent = request.form.get(CSRF_FIELD, "")
            expected = session.get(CSRF_FIELD)
            if not isinstance(expected, str) or not hmac.compare_digest(sent.encode(), expected.encode()):
                abort(403, "missing or wrong anti-CSRF token: reload the page and try again; nothing was changed")
        return None

    @app.errorhandler(400)
    @app.errorhandler(403)
    @app.errorhandler(404)
    def client_error(error: Any) -> tuple[str, int]:
        return render_template("error.html", code=error.code, message=error.description), error.code

    @app.errorhandler(Exception)
    def dependency_error(error: Exception) -> tuple[str, int]:
        if isinstance(error, OpsError):
            return render_template("error.html", code=400, message=str(error)), 400
        message = _aws_message(error)
        if message is None:
            app.logger.exception("console page failed")
            message = f"unexpected {type(error).__name__}; see the console's terminal"
        return render_template("error.html", code=503, message=message), 503

    @app.get("/")
    def index() -> str:
        source = request.args.get("source") or None
        status = request.args.get("status") or None
        event_type = request.args.get("type") or None
        since_text = request.args.get("since") or None
        if status is not None and status not in STATUSES:
            abort(400, f"unknown status {status!r}: one of {', '.join(sorted(STATUSES))}")
        since = records.parse_time(since_text) if since_text else None
        found = console.recent(source=source, status=status, event_type=event_type, since=since)
        template = "rows.html" if request.args.get("fragment") == "rows" else "index.html"
        poll = POLL_MILLISECONDS if console.events is not None else REMOTE_POLL_MILLISECONDS
        return render_template(template, records=found, statuses=sorted(STATUSES), poll=poll,
                               filters={"source": source or "", "status": status or "", "type": event_type or "",
                                        "since": since_text or ""})

    @app.get("/webhooks/<webhook_id>")
    def webhook(webhook_id: str) -> str:
        record = console.webhook(webhook_id)
        if record is None:
            abort(404, f"no webhook record {webhook_id} in stage {console.stage}")
        return render_template(
            "webhook.html", record=record, body=redact.pretty_body(record.payload),
            headers=redact.shown_headers(record.headers), trail=status_trail(record),
            payment_key=payment_key_of(record),
        )

    @app.get("/payments/<path:payment_key>")
    def payment(payment_key: str) -> str:
        view = console.payment(payment_key)
        if view is None:
            abort(404, f"no payment {payment_key} in stage {console.stage}")
        produced = console.produced_for_payment(view["paymentKey"], list(view.get("aliases") or []))
        return render_template("payment.html", payment=view, produced=produced, local=console.events is not None)

    @app.get("/failures")
    def failures() -> str:
        return render_template("failures.html", records=console.failed(), letters=console.dead_letters())

    @app.post("/actions/replay")
    def replay() -> str:
        ids = [value for value in request.form.getlist("webhookId") if value]
        if not ids:
            abort(400, "no webhook chosen to replay")
        chosen, missing = console.chosen(ids)
        if request.form.get("confirm") != "yes":
            return render_template("confirm_replay.html", chosen=chosen, missing=missing)
        result = console.replay(chosen)
        result.missing.extend(missing)
        return render_template("done.html", title="Replayed", lines=[
            f"queued {len(result.queued)} webhook(s) for processing ({len(result.reopened)} reopened first)",
            *[f"queued {webhook_id}" for webhook_id in result.queued],
            *[f"not found: {webhook_id}" for webhook_id in result.missing],
        ])

    @app.post("/actions/redrive")
    def redrive() -> str:
        limit_text = request.form.get("limit", "").strip()
        if limit_text and not limit_text.isdigit():
            abort(400, "the limit must be a whole number")
        limit = int(limit_text) if limit_text else None
        if request.form.get("confirm") != "yes":
            return render_template("confirm_redrive.html", letters=console.dead_letters()[:limit], limit=limit_text)
        moved = console.redrive(limit)
        return render_template("done.html", title="Redriven", lines=[
            f"moved {len(moved)} message(s) from the dead-letter queue to the processing queue",
            *[f"moved {letter.webhook_id or '(not a webhook message)'}"
              + (" (its failed record reopened)" if letter.status == WebhookStatus.FAILED else "") for letter in moved],
        ])

    @app.get("/events")
    def events() -> str:
        return render_template("events.html", produced=console.produced(), local=console.events is not None)

    return app
