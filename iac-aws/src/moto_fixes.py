# Starts moto's server with fixes for where moto 5.2.5 answers differently
# from AWS in ways the Rust SDK (stricter than boto3) rejects. Test harness
# only: `iac_aws::testing` runs it with the virtualenv's python.
import re
import sys

from moto.core import serialize
from moto.server import main

# S3 responses moto wraps in `<{Operation}Response>` where AWS (and the
# SDK's parser) use the payload's own root element.
S3_ROOTS = {
    "GetBucketVersioning": "VersioningConfiguration",
    "GetBucketAccelerateConfiguration": "AccelerateConfiguration",
    "GetBucketNotificationConfiguration": "NotificationConfiguration",
}

_to_response = serialize.S3Serializer._serialized_result_to_response


def _s3_root_fixed(self, resp, result, shape, serialized_result):
    resp = _to_response(self, resp, result, shape, serialized_result)
    root = S3_ROOTS.get(self.operation_model.name)
    if root and isinstance(resp.get("body"), str):
        resp["body"] = re.sub(r"<(/?)\w+Response\b", r"<\1" + root, resp["body"], count=2)
    return resp


serialize.S3Serializer._serialized_result_to_response = _s3_root_fixed

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
