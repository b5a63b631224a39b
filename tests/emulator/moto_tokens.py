# Client tokens, as AWS honours them: a call repeated with the client token
# of an earlier one (an SDK retry after a lost response, or the engine's
# retry of one create operation) is answered with the earlier call's result
# and creates nothing; repeated with the same token but other parameters, it
# fails with IdempotentParameterMismatch. Moto records some tokens and
# honours none, so a repeat makes a second resource. See AWS's "Ensuring
# idempotency in Amazon EC2 API requests" and the `ClientToken` /
# `clientToken` / `clientRequestToken` parameters of ECS, EKS, Secrets
# Manager, OpenSearch Serverless and Bedrock.
#
# The token is read where each protocol carries it: the EC2 query's
# `ClientToken`, a JSON body's top-level `clientToken`, `ClientToken`,
# `clientRequestToken` or `ClientRequestToken`. Only successful answers are
# remembered: a call that failed did nothing to repeat. Both endpoints (the
# plain one and the fault-injecting one of moto_faults.py, whose `_Call`
# names the operation and writes the error) go through it.
import io as _tokens_io
import json as _tokens_json
import threading as _tokens_threading
from urllib.parse import parse_qs as _tokens_parse_qs

from moto.moto_server.werkzeug_app import DomainDispatcherApplication as _TokensDispatcher

_TOKEN_KEYS = ("clientToken", "ClientToken", "clientRequestToken", "ClientRequestToken")
_tokens_lock = _tokens_threading.Lock()
# (service, operation, token) -> (request body, status, headers, response body)
_tokens_answered = {}


def _client_token(call, body):
    if "x-www-form-urlencoded" in call.content_type:
        form = _tokens_parse_qs(body.decode("utf-8", "replace"))
        return (form.get("ClientToken") or [None])[0]
    if call.protocol in ("json", "rest-json") and body[:1] == b"{":
        try:
            doc = _tokens_json.loads(body)
        except ValueError:
            return None
        for key in _TOKEN_KEYS:
            if isinstance(doc.get(key), str):
                return doc[key]
    return None


_tokens_dispatch = _TokensDispatcher.__call__


def _tokens_call(self, environ, start_response):
    size = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(size) if size else b""
    environ["wsgi.input"] = _tokens_io.BytesIO(body)
    call = _Call(environ, body)
    token = _client_token(call, body)
    if not token:
        return _tokens_dispatch(self, environ, start_response)
    key = (call.service, call.operation, token)
    with _tokens_lock:
        earlier = _tokens_answered.get(key)
    if earlier:
        sent, status, headers, answer = earlier
        if sent != body:
            return call.error(
                start_response,
                400,
                "IdempotentParameterMismatch",
                "The client token was used by an earlier request with other parameters",
            )
        start_response(status, headers)
        return [answer]
    seen = {}

    def keep(status, headers, exc_info=None):
        seen["status"], seen["headers"] = status, list(headers)
        return start_response(status, headers, exc_info)

    result = _tokens_dispatch(self, environ, keep)
    try:
        answer = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    if seen.get("status", "").startswith("2"):
        with _tokens_lock:
            _tokens_answered[key] = (body, seen["status"], seen["headers"], answer)
    return [answer]


_TokensDispatcher.__call__ = _tokens_call
