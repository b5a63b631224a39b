# S3 conditional writes for the state backend's tests.
#
# Moto checks `If-None-Match` / `If-Match` and then writes, on a threaded
# server, so two writers racing for one key can both pass the check. AWS
# decides conditional writes atomically; so does this, by serializing S3's
# object writes and deletes.
#
# A store that ignores preconditions (some S3-compatible stores, old
# gateways) is emulated by buckets named `no-preconditions-…`: there the
# headers are dropped, so the backend's start-up check must refuse it.
import threading as _cond_threading

from moto.s3.responses import S3Response as _S3Response
from werkzeug.datastructures import Headers as _Headers

_s3_write_lock = _cond_threading.Lock()


def _s3_conditional(original):
    def handler(self, *args, **kwargs):
        if (self.bucket_name or "").startswith("no-preconditions-"):
            headers = _Headers(list(self.headers.items()))
            headers.remove("If-None-Match")
            headers.remove("If-Match")
            self.headers = headers
        with _s3_write_lock:
            return original(self, *args, **kwargs)

    return handler


_S3Response.put_object = _s3_conditional(_S3Response.put_object)
_S3Response.delete_object = _s3_conditional(_S3Response.delete_object)
