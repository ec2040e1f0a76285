"""A minimal Lambda custom runtime: the Runtime API loop with the standard library only.

Usage: python3 runtime.py MODULE.FUNCTION  (the module is imported from the working directory).
It is what any custom runtime does (bootstrap): ask for the next invocation, run the handler,
post its result or its error. Tests use it where awslambdaric is not installed.
"""
import importlib
import json
import os
import sys
import traceback
import urllib.request

API = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime"


def post(path, body):
    req = urllib.request.Request(API + path, data=body, method="POST")
    req.add_header("content-type", "application/json")
    urllib.request.urlopen(req).read()


class Context:
    def __init__(self, headers):
        self.aws_request_id = headers["Lambda-Runtime-Aws-Request-Id"]
        self.invoked_function_arn = headers["Lambda-Runtime-Invoked-Function-Arn"]
        self.deadline_ms = int(headers["Lambda-Runtime-Deadline-Ms"])
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.memory_limit_in_mb = os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]
        self.trace_id = headers.get("Lambda-Runtime-Trace-Id")


def main():
    module, _, name = sys.argv[1].rpartition(".")
    sys.path.insert(0, os.getcwd())
    sys.path.insert(1, os.path.dirname(os.path.abspath(__file__)))
    try:
        handler = getattr(importlib.import_module(module), name)
    except Exception as e:  # noqa: BLE001 - reported to the Runtime API as Lambda does
        post("/init/error", json.dumps({"errorMessage": str(e), "errorType": type(e).__name__}).encode())
        sys.exit(1)
    while True:
        with urllib.request.urlopen(API + "/invocation/next") as r:
            headers = r.headers
            event = json.loads(r.read())
        ctx = Context(headers)
        try:
            result = handler(event, ctx)
            post("/invocation/" + ctx.aws_request_id + "/response", json.dumps(result).encode())
        except Exception as e:  # noqa: BLE001
            err = {"errorMessage": str(e), "errorType": type(e).__name__,
                   "stackTrace": traceback.format_exc().splitlines()}
            post("/invocation/" + ctx.aws_request_id + "/error", json.dumps(err).encode())


if __name__ == "__main__":
    main()
