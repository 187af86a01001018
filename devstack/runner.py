"""`make run`: the whole pipeline on one machine, with no AWS account.

In order: take the runner lock (one stack per state directory), stop whatever a crashed run left,
start ``moto_server``, point this process at it (dummy credentials, ``AWS_ENDPOINT_URL``, an empty AWS
config so the user's own profiles never apply), apply the `local` stage's environment from
``.chalice/config.json``, create every resource (``devstack.resources.ensure_stack``), load the app
through Chalice's own loader, serve its routes on ``127.0.0.1:$PORT`` with Chalice's local server,
and run its other handlers as Lambda's event sources would (``devstack.lambdas``). Then it writes
``stack.json`` and ``env.sh`` for clients, prints one ready line, and waits for Ctrl-C or SIGTERM
(any number of them; see ``Runner._on_signal``), or for the emulator to die: then it says so in one
line and exits 1, rather than letting every worker log its failed polls.

Beside the app it serves the operator console (``console/``) on ``127.0.0.1:$CONSOLE_PORT`` and
subscribes a queue to each SNS topic, drained into ``events.jsonl`` for the console and ``ops tail``.

Settings (environment): ``PORT`` (8000), ``CONSOLE_PORT`` (8080; 0: a free one), ``MOTO_PORT`` (a free
one), ``LOCAL_VISIBILITY_TIMEOUT_SECONDS`` (5: how soon a failed message is retried), ``LOG_FORMAT``
(``json`` for the raw lines), ``PAYMENT_WEBHOOKS_LOCAL_DIR`` (``.local``), the source secrets of
``devstack.sources``, ``LOCAL_SOURCES_FILE`` (extra or replacement sources, merged over the defaults:
``devstack.sources``), and
``PAYMENT_WEBHOOKS_COUNT_AWS_CALLS=1`` (count the app's AWS calls: ``devstack.callcount``).
"""

from __future__ import annotations

import functools
import json
import os
import signal
import sys
import threading
import time
from dataclasses import asdict
from types import FrameType
from typing import Any

from devstack import callcount, emulator, pki, sources
from devstack.emulator import HOST, Emulator, EmulatorError, port_is_free
from devstack.logview import ReadableStream
from devstack.startup import (
    RunnerOptions,
    StartupError,
    banner_hints,
    display,
    emulator_environment,
    env_script,
    exit_description,
    isolate_from_real_aws,
)
from devstack.state import REGION, REPOSITORY, Paths, RunnerLock, write_private

STAGE = "local"
SHUTDOWN_JOIN_SECONDS = 5.0
WATCH_SECONDS = 0.2
"""How often the main thread looks for a stop signal and checks that the emulator still runs."""


class Interrupted(Exception):
    """Ctrl-C (or SIGTERM) arrived while the stack was still starting."""


class Runner:
    def __init__(self, paths: Paths, options: RunnerOptions, out: Any) -> None:
        self.paths = paths
        self.options = options
        self.out = out
        self.stop = threading.Event()
        """Tells the worker threads to finish; set by the main thread only, never by a signal handler."""
        self.signalled = False
        self._interrupting = False
        self.ready = False
        self.emulator = Emulator(paths, options.moto_port)
        self.cert_server: pki.CertServer | None = None
        self.http_server: Any = None
        self.console_server: Any = None
        self.threads: list[threading.Thread] = []

    def say(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    # -- signals --------------------------------------------------------------------------

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        # Plain assignments only. A handler runs in the main thread between two bytecodes, possibly
        # while that thread holds a lock: setting a threading.Event here (it takes the Event's lock)
        # deadlocked the process when a second Ctrl-C arrived during the first one's set().
        # The main thread notices the flag within WATCH_SECONDS (see wait_for_stop).
        self.signalled = True
        if not self.ready and not self._interrupting:
            self._interrupting = True  # raise once: a second signal must not abort the clean-up
            raise Interrupted()

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)

    def wait_for_stop(self) -> str | None:
        """Until a signal arrives (None) or the emulator dies (why, in one line)."""
        while not self.signalled:
            status = self.emulator.exit_status()
            if status is not None:
                return f"the AWS emulator (moto_server) {exit_description(status)}; see {display(self.paths.moto_log)}"
            time.sleep(WATCH_SECONDS)  # a signal interrupts nothing here: the flag is read next round
        return None

    # -- start ----------------------------------------------------------------------------

    def start(self) -> None:
        leftover = emulator.stop_leftover(self.paths)
        if leftover:
            self.say(f"stopped a moto_server (pid {leftover}) left behind by an earlier run")
        self.paths.stack.unlink(missing_ok=True)
        if not port_is_free(self.options.port):
            raise StartupError(f"port {self.options.port} is in use: stop what listens there, or set PORT")
        self.paths.aws_config.write_text("")

        self.emulator.start()
        isolate_from_real_aws(os.environ)
        os.environ.update(emulator_environment(self.emulator.endpoint, self.paths))

        from chalice.cli.factory import CLIFactory

        factory = CLIFactory(project_dir=str(REPOSITORY), environ=os.environ)
        config = factory.create_config_obj(chalice_stage_name=STAGE)
        os.environ.update(config.environment_variables)
        os.environ["STAGE"] = STAGE  # the PayPal loopback allowance is for this stage alone

        secrets = sources.resolve_secrets(self.paths, os.environ)
        local_pki = pki.load_or_create(self.paths)
        self.cert_server = pki.CertServer(local_pki, HOST)
        self.cert_server.start()
        notification_url = sources.square_notification_url(os.environ, self.options.port)
        document = sources.sources_document(secrets, notification_url, local_pki)
        try:
            extra_sources = sources.local_sources(os.environ)
        except sources.LocalSourcesError as exc:
            raise StartupError(str(exc)) from None
        document = sources.merge_sources(document, extra_sources)

        import boto3

        from chalicelib.settings import Settings
        from devstack.resources import ensure_stack

        session = boto3.session.Session()
        resources = ensure_stack(
            session, Settings.from_environment(), document, visibility_timeout=self.options.visibility_timeout
        )
        # app.py reads the stream ARN and queue name at import: set them before it is loaded.
        os.environ.update(resources.environment())
        app = config.chalice_app
        if callcount.enabled(os.environ):  # `make bench`: count the app's AWS calls
            from chalicelib.runtime import services

            callcount.install(services().aws, self.paths.root)
        self._serve_http(app, config)
        handlers = self._start_handlers(app, session)
        self._subscribe_to_topics(session, resources)
        console_url, console_note = self._serve_console(session, resources)

        cert_url = self.cert_server.url
        (self.paths.paypal / "cert-url").write_text(cert_url + "\n")
        client_environment = {
            **{k: os.environ[k] for k in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                          "AWS_DEFAULT_REGION", "AWS_REGION")},
            **resources.environment(),
        }
        self.paths.env_script.write_text(env_script(client_environment))
        app_url = f"http://{HOST}:{self.options.port}"
        stack = {
            "stage": STAGE,
            "runnerPid": os.getpid(),
            "motoPid": self.emulator.pid,
            "endpointUrl": self.emulator.endpoint,
            "appUrl": app_url,
            "consoleUrl": console_url,
            "region": REGION,
            "startedAt": time.time(),
            "resources": asdict(resources),
            "paypal": {"certUrl": cert_url, "signingKeyFile": str(pki.signing_key_file(self.paths))},
        }
        write_private(self.paths.stack, json.dumps(stack, indent=2) + "\n")

        self.say(f"payment-webhooks local stack: state in {display(self.paths.root)}/, "
                 f"AWS emulator log in {display(self.paths.moto_log)}")
        self.say("  sources (POST /webhook/<source>):")
        for secret in secrets:
            self.say(f"    {secret.describe()}")
        if extra_sources:  # names only: the file may hold real secrets
            self.say(f"    from ${sources.LOCAL_SOURCES_VARIABLE}: {', '.join(sorted(extra_sources))}")
        self.say(f"    square notification URL: {notification_url}")
        self.say(f"    paypal certificate: {cert_url}")
        hint = sources.reconciler_hint(os.environ)
        if hint:
            self.say(f"    {hint}")
        self.say("  handlers: " + "; ".join(handlers))
        for hint in banner_hints(self.paths, self.options.port):
            self.say(hint)
        self.say(f"  console: {console_url}" if console_url else f"  console: {console_note}")
        self.ready = True
        self.say(
            f"payment-webhooks ready on {app_url} (AWS emulator on {self.emulator.endpoint}); Ctrl-C stops"
        )

    def _serve_http(self, app: Any, config: Any) -> None:
        from chalice.local import ChaliceRequestHandler, create_local_server

        class QuietHandler(ChaliceRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return  # the app logs one line per webhook outcome; no access log on top

        server = create_local_server(app, config, HOST, self.options.port)
        server.server.RequestHandlerClass = functools.partial(QuietHandler, app_object=app, config=config)
        self.http_server = server.server
        self._spawn("http", self.http_server.serve_forever)

    def _subscribe_to_topics(self, session: Any, resources: Any) -> None:
        """What the system publishes becomes visible: both topics into ``events.jsonl``."""
        from console.events import ALERT, PAYMENT_EVENT, drain_forever, subscribe_topics
        from console.serve import events_log

        queues = subscribe_topics(session, resources.table_name, {
            PAYMENT_EVENT: resources.payment_events_topic_arn, ALERT: resources.alerts_topic_arn,
        })
        log = events_log(self.paths.root)
        log.path.unlink(missing_ok=True)  # the emulator starts empty: so does what it published
        self._spawn("events", functools.partial(drain_forever, session.client("sqs"), queues, log, self.stop))

    def _serve_console(self, session: Any, resources: Any) -> tuple[str | None, str]:
        """The console's URL, or None and why it did not start (the stack runs without it)."""
        from console.serve import console_server, events_log, serve_in_thread, url_of
        from ops.stage import LOCAL, StageTarget

        if self.options.console_port and not port_is_free(self.options.console_port):
            return None, f"not started: port {self.options.console_port} is in use (set CONSOLE_PORT, 0 for any)"
        target = StageTarget(
            stage=LOCAL, session=session, endpoint_url=self.emulator.endpoint, table_name=resources.table_name,
            queue_name=resources.queue_url.rsplit("/", 1)[-1], sources_secret_id=resources.secret_id,
            queue_url=resources.queue_url, dlq_url=resources.dlq_url, app_url=f"http://{HOST}:{self.options.port}",
        )
        self.console_server = console_server(target, self.options.console_port, events_log(self.paths.root))
        serve_in_thread(self.console_server)
        return url_of(self.console_server), ""

    def _start_handlers(self, app: Any, session: Any) -> list[str]:
        from devstack.lambdas import discover

        discovery = discover(
            app,
            clients=session.client,
            region=REGION,
            function_name=lambda name: f"{app.app_name}-{STAGE}-{name}",
        )
        for worker in discovery.workers:
            worker.prepare()
        for worker in discovery.workers:
            self._spawn(worker.name, functools.partial(worker.run, self.stop))
        described = [worker.describe() for worker in discovery.workers]
        described += [f"{name}: not emulated" for name in discovery.not_emulated]
        return described

    def _spawn(self, name: str, target: Any) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self.threads.append(thread)

    # -- stop -----------------------------------------------------------------------------

    def shutdown(self) -> None:
        self.stop.set()
        if self.http_server is not None:
            self.http_server.shutdown()
            self.http_server.server_close()
        if self.console_server is not None:
            self.console_server.shutdown()
            self.console_server.server_close()
        deadline = time.monotonic() + SHUTDOWN_JOIN_SECONDS
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        if self.cert_server is not None:
            self.cert_server.stop()
        self.emulator.stop()
        self.paths.stack.unlink(missing_ok=True)
        self.paths.env_script.unlink(missing_ok=True)


def _one_line_thread_failure(args: threading.ExceptHookArgs) -> None:
    """A worker that dies says so in one line: no traceback on the console."""
    from chalicelib import log

    name = args.thread.name if args.thread is not None else "?"
    log.error("local worker stopped", thread=name, errorType=args.exc_type.__name__)


def main() -> int:
    try:
        sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # TextIO has no reconfigure
    except AttributeError:
        pass
    real_stdout = sys.stdout
    try:
        options = RunnerOptions.from_environment(os.environ, sys.argv[1:])
    except StartupError as exc:
        print(f"make run: {exc}", file=sys.stderr)
        return 2
    paths = Paths.default()
    paths.ensure()
    lock = RunnerLock(paths)
    if not lock.acquire():
        print(
            f"make run: a local stack is already running with state in {display(paths.root)}/; "
            "stop it first (Ctrl-C in its terminal)",
            file=sys.stderr,
        )
        return 1
    threading.excepthook = _one_line_thread_failure
    runner = Runner(paths, options, real_stdout)
    # The app logs to whatever sys.stdout is (chalicelib.log): make its lines readable.
    sys.stdout = ReadableStream(real_stdout, raw=options.raw_logs, verbose=options.verbose_logs)
    runner.install_signal_handlers()
    status = 0
    try:
        runner.start()
        died = runner.wait_for_stop()
        if died is None:
            runner.say("payment-webhooks stopping")
        else:  # one line, then the same clean-up: the workers stop before they log a poll failure
            print(f"make run: {died}", file=sys.stderr)
            status = 1
    except Interrupted:
        runner.say("payment-webhooks: interrupted while starting")
        status = 130
    except (StartupError, EmulatorError) as exc:
        print(f"make run: {exc}", file=sys.stderr)
        status = 1
    except Exception as exc:  # anything else at start: one line, no traceback; details in moto.log
        print(f"make run: could not start the local stack ({type(exc).__name__}); see {display(paths.moto_log)}",
              file=sys.stderr)
        status = 1
    finally:
        runner.ready = True  # a signal during shutdown must not abort the clean-up
        runner.shutdown()
        sys.stdout = real_stdout
        lock.release()
    if status == 0:
        runner.say("payment-webhooks stopped")
    return status
