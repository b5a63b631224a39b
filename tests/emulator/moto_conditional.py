# S3 conditional writes for the state backend's tests.
#
# Moto checks `If-None-Match` / `If-Match` and then writes, on a threaded
# server, so two writers racing for one key can both pass the check. AWS
# decides conditional writes atomically; so does this, by serializing S3's
# object writes, copies and deletes. Moto also ignores
# `x-amz-copy-source-if-match` on CopyObject; AWS refuses a copy whose
# source has another ETag (412), and so does this.
#
# Stores that lack conditional operations are emulated by bucket name:
#
#   no-preconditions-…        every precondition header is dropped (a store
#                             that silently ignores them)
#   cond-<op>-<how>-…         one conditional operation is missing:
#     <op>   create   PutObject with If-None-Match
#            replace  PutObject with If-Match
#            copy     CopyObject with x-amz-copy-source-if-match
#            delete   DeleteObject with If-Match
#     <how>  501      501 NotImplemented (LocalStack's answer to a
#                     conditional delete)
#            400      400 InvalidArgument (a gateway that rejects the header)
#            ignore   the header is dropped: the write happens regardless
#            refuse   412 PreconditionFailed whether or not it holds
#   cond-lockstuck-…          every DeleteObject of a `…/lock.json` is denied
#                             (403): a run cannot release its lock
import re as _cond_re
import threading as _cond_threading
from urllib.parse import unquote as _cond_unquote
from urllib.parse import urlparse as _cond_urlparse

from moto.s3.exceptions import PreconditionFailed as _PreconditionFailed
from moto.s3.responses import S3Response as _S3Response
from werkzeug.datastructures import Headers as _Headers

_s3_write_lock = _cond_threading.Lock()
_cond_mode = _cond_re.compile(r"^cond-(create|replace|copy|delete)-(501|400|ignore|refuse)-")


def _cond_error(status, code, message, header):
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>"
        f"<Header>{header}</Header><RequestId>iac-conditional</RequestId></Error>"
    )
    return status, {"Content-Type": "application/xml"}, body


def _cond_drop(self, *names):
    headers = _Headers(list(self.headers.items()))
    for name in names:
        headers.remove(name)
    self.headers = headers


def _cond_missing(self, op, header):
    """What a store lacking `op` answers, or None to go on (header dropped or absent)."""
    m = _cond_mode.match(self.bucket_name or "")
    if not m or m.group(1) != op or header not in self.headers:
        return None
    how = m.group(2)
    if how == "501":
        return _cond_error(
            501, "NotImplemented", "A header you provided implies functionality that is not implemented", header
        )
    if how == "400":
        return _cond_error(400, "InvalidArgument", f"Unsupported header '{header}' received for this API call.", header)
    if how == "refuse":
        raise _PreconditionFailed(header)
    _cond_drop(self, header)
    return None


def _cond_put(original):
    def handler(self, *args, **kwargs):
        if (self.bucket_name or "").startswith("no-preconditions-"):
            _cond_drop(self, "If-None-Match", "If-Match")
        answer = _cond_missing(self, "create", "If-None-Match") or _cond_missing(self, "replace", "If-Match")
        if answer:
            return answer
        with _s3_write_lock:
            return original(self, *args, **kwargs)

    return handler


def _cond_delete(original):
    def handler(self, *args, **kwargs):
        name = self.bucket_name or ""
        if name.startswith("no-preconditions-"):
            _cond_drop(self, "If-Match")
        if name.startswith("cond-lockstuck-") and self.parse_key_name().endswith("/lock.json"):
            return _cond_error(403, "AccessDenied", "Access Denied", "")
        answer = _cond_missing(self, "delete", "If-Match")
        if answer:
            return answer
        with _s3_write_lock:
            return original(self, *args, **kwargs)

    return handler


def _cond_copy(original):
    def handler(self, *args, **kwargs):
        header = "x-amz-copy-source-if-match"
        if (self.bucket_name or "").startswith("no-preconditions-"):
            _cond_drop(self, header)
        answer = _cond_missing(self, "copy", header)
        if answer:
            return answer
        with _s3_write_lock:
            wanted = self.headers.get(header)
            if wanted:
                source = _cond_urlparse(self.headers.get("x-amz-copy-source"))
                bucket, key = _cond_unquote(source.path).lstrip("/").split("/", 1)
                found = self.backend.get_object(bucket, key)
                if found is not None and wanted.replace('"', "") != found.etag.replace('"', ""):
                    raise _PreconditionFailed("x-amz-copy-source-If-Match")
            return original(self, *args, **kwargs)

    return handler


_S3Response.put_object = _cond_put(_S3Response.put_object)
_S3Response.delete_object = _cond_delete(_S3Response.delete_object)
_S3Response.copy_object = _cond_copy(_S3Response.copy_object)
