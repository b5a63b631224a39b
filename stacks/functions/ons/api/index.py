"""The ONS data platform's api function (placeholder handler; the application ships its own code)."""
import json


def handler(event, context):
    return {"statusCode": 200, "body": json.dumps({"function": "api", "status": "ok"})}
