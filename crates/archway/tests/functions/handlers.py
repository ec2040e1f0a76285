"""Handlers for crates/archway/tests/functions.rs. Unmodified-Lambda style: handler(event, context)."""
import json
import os
import sys
import time


def remaining_ms(context):
    """awslambdaric's context has get_remaining_time_in_millis(); runtime.py's the deadline."""
    if hasattr(context, "get_remaining_time_in_millis"):
        return context.get_remaining_time_in_millis()
    return context.deadline_ms - int(time.time() * 1000)


def echo(event, context):
    print("echo handling " + event.get("httpMethod", event.get("requestContext", {}).get("http", {}).get("method", "?")))
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json", "x-function": context.function_name},
        "multiValueHeaders": {"x-multi": ["a", "b"]},
        "body": json.dumps({"event": event, "env": {k: os.environ.get(k) for k in (
            "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_REGION",
            "LAMBDA_TASK_ROOT", "GREETING")}, "arn": context.invoked_function_arn,
            "remaining_ms": remaining_ms(context), "pid": os.getpid(),
            "trace": getattr(context, "trace_id", None) or os.environ.get("_X_AMZN_TRACE_ID")}),
        "isBase64Encoded": False,
    }


def inferred(event, context):
    return {"hello": "world"}


def fail(event, context):
    raise ValueError("the handler failed on purpose")


def malformed(event, context):
    return {"status": 200, "message": "not a proxy response"}


def crash(event, context):
    sys.stdout.flush()
    os._exit(3)


def slow(event, context):
    time.sleep(float(os.environ.get("SLEEP", "5")))
    return {"statusCode": 200, "body": "slept"}


def binary(event, context):
    return {"statusCode": 200, "headers": {"content-type": "application/octet-stream"},
            "body": "AAEC/w==", "isBase64Encoded": True}


def plain(event, context):
    return {"got": event}


def not_found(event, context):
    raise LookupError("NotFound: no pet " + str(event.get("id")))
