# A fault-injecting endpoint in front of the emulator, for the reliability
# tests: a second loopback listener (port IAC_MOTO_FAULTS_PORT) serving the
# same emulator through a layer that answers a share of calls, before they
# reach it, with throttling, server errors or a stall (the call held, then a
# gateway timeout), each in the error format of the call's AWS protocol, and
# that can fail one operation for good.
#
# It also loses responses: a share of calls (of every operation, or of those
# `lost_operations` names) is passed to the emulator, so it takes effect,
# and the client then gets a server error in place of the answer, as when a
# response is lost on the wire and a retry cannot tell whether the first
# call acted. With `lost_once`, a repeat of a request whose response was
# lost (the same operation, path, query and body: a retry) is not lost
# again, so a share of 1 loses the first answer of every such call and none
# of its retries.
#
# Tests configure it with `POST /__faults` (JSON: {"throttle": 0.1,
# "error": 0.05, "stall": 0.02, "stall_seconds": 1.0, "lost": 0.3,
# "lost_operations": ["CreateVpc"], "lost_once": true, "seed": 7,
# "fail": {"operation": "CreateRepository", "code": "…", "message": "…"}})
# and read what it injected with `GET /__faults`: counts by kind
# (`throttle`, `error`, `stall`, `lost`, `fail`, `passed`) and, under
# `operations`, by `kind:Operation`. An operation is named by its action
# (`CreateVpc`; a JSON call's target, `CreateCluster`), S3's bucket creation
# `CreateBucket`, and other REST calls by method and path.
import io as _faults_io
import json as _faults_json
import os as _faults_os
import random as _faults_random
import threading as _faults_fthreading
import time as _faults_time
import uuid as _faults_uuid
from urllib.parse import parse_qs as _faults_parse_qs

from werkzeug.serving import make_server as _faults_make_server


class _FaultLayer:
    def __init__(self, app):
        self.app = app
        self.lock = _faults_fthreading.Lock()
        self.config = {}
        self.rng = _faults_random.Random(0)
        self.stats = {}
        # Requests whose response was lost, for `lost_once`.
        self.lost = set()

    def _count(self, kind, operation):
        with self.lock:
            self.stats[kind] = self.stats.get(kind, 0) + 1
            ops = self.stats.setdefault("operations", {})
            ops[f"{kind}:{operation}"] = ops.get(f"{kind}:{operation}", 0) + 1

    def _control(self, environ, start_response):
        if environ["REQUEST_METHOD"] == "POST":
            size = int(environ.get("CONTENT_LENGTH") or 0)
            config = _faults_json.loads(environ["wsgi.input"].read(size) or b"{}")
            with self.lock:
                self.config = config
                self.rng = _faults_random.Random(config.get("seed", 0))
                self.stats = {}
                self.lost = set()
        with self.lock:
            body = _faults_json.dumps(self.stats).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") == "/__faults":
            return self._control(environ, start_response)
        # Read the body once, so the operation can be named and the
        # emulator still gets it.
        size = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(size) if size else b""
        environ["wsgi.input"] = _faults_io.BytesIO(body)
        call = _Call(environ, body)
        with self.lock:
            config = dict(self.config)
            roll = self.rng.random()
        fail = config.get("fail")
        if fail and fail.get("operation") == call.operation:
            self._count("fail", call.operation)
            return call.error(start_response, 400, fail.get("code", "ValidationException"), fail.get("message", ""))
        throttle, error, stall, lost = (config.get(k, 0.0) for k in ("throttle", "error", "stall", "lost"))
        if roll < throttle:
            self._count("throttle", call.operation)
            status, code = call.throttling()
            return call.error(start_response, status, code, "Rate exceeded (injected)")
        if roll < throttle + error:
            self._count("error", call.operation)
            code = "InternalError" if call.service in ("s3", "ec2") else "InternalFailure"
            return call.error(start_response, 500, code, "We encountered an internal error (injected)")
        if roll < throttle + error + stall:
            self._count("stall", call.operation)
            _faults_time.sleep(config.get("stall_seconds", 1.0))
            return call.error(start_response, 504, "GatewayTimeout", "The call timed out (injected)")
        lost_operations = config.get("lost_operations")
        if roll < throttle + error + stall + lost and (lost_operations is None or call.operation in lost_operations):
            request = (environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", ""), body)
            with self.lock:
                repeat = config.get("lost_once") and request in self.lost
                self.lost.add(request)
            if not repeat:
                self._count("lost", call.operation)
                return self._lose(call, environ, start_response)
        self._count("passed", call.operation)
        return self.app(environ, start_response)

    def _lose(self, call, environ, start_response):
        """Lets the emulator act on the call, then answers a server error in
        place of its response."""
        answer = self.app(environ, lambda status, headers, exc_info=None: None)
        try:
            for _ in answer:
                pass
        finally:
            if hasattr(answer, "close"):
                answer.close()
        code = "InternalError" if call.service in ("s3", "ec2") else "InternalFailure"
        return call.error(start_response, 500, code, "We encountered an internal error (injected: the response was lost)")


class _Call:
    """One AWS call: its service, operation and protocol."""

    def __init__(self, environ, body):
        auth = environ.get("HTTP_AUTHORIZATION", "")
        scope = auth.split("Credential=", 1)[1].split(",", 1)[0].split("/") if "Credential=" in auth else []
        self.service = scope[3] if len(scope) > 3 else ""
        self.content_type = environ.get("CONTENT_TYPE", "")
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        query = _faults_parse_qs(environ.get("QUERY_STRING", ""))
        form = _faults_parse_qs(body.decode("utf-8", "replace")) if "x-www-form-urlencoded" in self.content_type else {}
        action = (form.get("Action") or query.get("Action") or [""])[0]
        if target:
            self.protocol, self.operation = "json", target.rsplit(".", 1)[-1]
        elif action:
            self.protocol, self.operation = ("ec2" if self.service == "ec2" else "query"), action
        elif self.service == "s3":
            self.protocol, self.operation = "s3", f"{environ['REQUEST_METHOD']} {environ.get('PATH_INFO', '')}"
            # Path-style addressing: `PUT /<bucket>` with no subresource.
            path = environ.get("PATH_INFO", "").strip("/")
            subresources = set(_faults_parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)) - {"x-id"}
            if environ["REQUEST_METHOD"] == "PUT" and path and "/" not in path and not subresources:
                self.operation = "CreateBucket"
        else:
            self.protocol, self.operation = "rest-json", f"{environ['REQUEST_METHOD']} {environ.get('PATH_INFO', '')}"

    def throttling(self):
        return {
            "json": (400, "ThrottlingException"),
            "query": (400, "Throttling"),
            "ec2": (503, "RequestLimitExceeded"),
            "s3": (503, "SlowDown"),
            "rest-json": (429, "TooManyRequestsException"),
        }[self.protocol]

    def error(self, start_response, status, code, message):
        rid = str(_faults_uuid.uuid4())
        headers = [("x-amzn-RequestId", rid)]
        if self.protocol == "json":
            ctype = self.content_type or "application/x-amz-json-1.1"
            body = _faults_json.dumps({"__type": code, "message": message})
        elif self.protocol == "rest-json":
            ctype = "application/json"
            headers.append(("x-amzn-ErrorType", code))
            body = _faults_json.dumps({"message": message})
        elif self.protocol == "ec2":
            ctype = "text/xml"
            body = (
                f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors>"
                f"<RequestID>{rid}</RequestID></Response>"
            )
        elif self.protocol == "s3":
            ctype = "application/xml"
            body = f"<Error><Code>{code}</Code><Message>{message}</Message><RequestId>{rid}</RequestId></Error>"
        else:
            ctype = "text/xml"
            body = (
                f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
                f"<RequestId>{rid}</RequestId></ErrorResponse>"
            )
        data = body.encode()
        reason = {400: "Bad Request", 429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable", 504: "Gateway Timeout"}
        start_response(
            f"{status} {reason.get(status, 'Error')}",
            headers + [("Content-Type", ctype), ("Content-Length", str(len(data)))],
        )
        return [data]


def _serve_faults(port):
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    # Its own dispatcher over the same (process-wide) emulator state.
    server = _faults_make_server("127.0.0.1", port, _FaultLayer(DomainDispatcherApplication(create_backend_app)), threaded=True)
    server.serve_forever()


if _faults_os.environ.get("IAC_MOTO_FAULTS_PORT"):
    _faults_fthreading.Thread(target=_serve_faults, args=(int(_faults_os.environ["IAC_MOTO_FAULTS_PORT"]),), daemon=True).start()
