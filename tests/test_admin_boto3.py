"""The admin API driven by boto3, as a user of Amazon API Gateway would drive AWS.

Starts `archway serve` itself (the binary from $CARGO_TARGET_DIR or target/debug; `.ci/run` and
`scripts/test.sh` build it first) on ports the OS picks, with an admin key from the
environment, and talks to it with `endpoint_url`. Invocations go through the gateway with
urllib, naming the API by its `{apiId}.execute-api` host.
"""

import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

ROOT = Path(__file__).resolve().parent.parent
ACCESS_KEY = "AKIAPYTESTADMIN00001"
SECRET_KEY = "pytest-admin-secret-0123456789abcdefghij"


def archway_binary():
    candidates = []
    if os.environ.get("CARGO_TARGET_DIR"):
        candidates.append(Path(os.environ["CARGO_TARGET_DIR"]) / "debug" / "archway")
    candidates.append(ROOT / "target" / "debug" / "archway")
    for c in candidates:
        if c.is_file():
            return str(c)
    pytest.fail(f"archway binary not found in {candidates}; run `cargo build -p archway` first")


class Server:
    def __init__(self):
        self.data = tempfile.mkdtemp(prefix="archway-pytest-")
        env = dict(os.environ)
        env["ARCHWAY_ADMIN_ACCESS_KEY_ID"] = ACCESS_KEY
        env["ARCHWAY_ADMIN_SECRET_ACCESS_KEY"] = SECRET_KEY
        self.proc = subprocess.Popen(
            [
                archway_binary(),
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--admin-listen",
                "127.0.0.1:0",
                "--data-dir",
                self.data,
                "--workers",
                "1",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )
        self.lines = []
        self.gateway = None
        self.admin = None
        ready = threading.Event()

        def read():
            for line in self.proc.stderr:
                line = line.rstrip("\n")
                self.lines.append(line)
                if line.startswith("archway: listening on ") and line.endswith(" (http)"):
                    self.gateway = line[len("archway: listening on "):-len(" (http)")]
                if line.startswith("archway: admin API on "):
                    self.admin = line[len("archway: admin API on "):]
                if self.gateway and self.admin:
                    ready.set()
            ready.set()

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(30) or not (self.gateway and self.admin):
            self.stop()
            pytest.fail("archway did not start: " + "\n".join(self.lines))

    def client(self, service="apigateway"):
        return boto3.client(
            service,
            endpoint_url=f"http://{self.admin}",
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name="us-east-1",
            config=Config(retries={"max_attempts": 1}),
        )

    def invoke(self, api_id, path, headers=None):
        req = urllib.request.Request(
            f"http://{self.gateway}{path}",
            headers={"Host": f"{api_id}.execute-api.localhost", **(headers or {})},
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.data, ignore_errors=True)


@pytest.fixture(scope="module")
def server():
    s = Server()
    yield s
    s.stop()
    # The secret came from the environment: it must never appear in the logs.
    assert all(SECRET_KEY not in line for line in s.lines)


@pytest.fixture(scope="module")
def apigw(server):
    return server.client()


def mock_document(title, marker):
    return {
        "openapi": "3.0.1",
        "info": {"title": title, "version": "1.0"},
        "paths": {
            "/hello": {
                "get": {
                    "responses": {"200": {"description": "ok"}},
                    "x-amazon-apigateway-integration": {
                        "type": "mock",
                        "requestTemplates": {"application/json": '{"statusCode": 200}'},
                        "responses": {
                            "default": {
                                "statusCode": "200",
                                "responseTemplates": {
                                    "application/json": '{"version": "%s", "color": "$stageVariables.color"}'
                                    % marker
                                },
                            }
                        },
                    },
                }
            }
        },
    }


def test_create_get_list_delete_rest_api(apigw):
    created = apigw.create_rest_api(name="boto-created", description="made by boto3")
    api_id = created["id"]
    assert created["name"] == "boto-created"
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    got = apigw.get_rest_api(restApiId=api_id)
    assert got["description"] == "made by boto3"
    assert "createdDate" in got
    assert api_id in [a["id"] for a in apigw.get_rest_apis()["items"]]
    resources = apigw.get_resources(restApiId=api_id)["items"]
    assert [r["path"] for r in resources] == ["/"]
    apigw.delete_rest_api(restApiId=api_id)
    with pytest.raises(ClientError) as e:
        apigw.get_rest_api(restApiId=api_id)
    assert e.value.response["Error"]["Code"] == "NotFoundException"
    assert e.value.response["Error"]["Message"] == f"Invalid API identifier specified 111111111111:{api_id}"


def test_import_deploy_canary_invoke_promote(server, apigw):
    imported = apigw.import_rest_api(
        body=json.dumps(mock_document("boto-imported", "v1")).encode(),
        failOnWarnings=False,
    )
    api_id = imported["id"]
    assert imported["name"] == "boto-imported"

    v1 = apigw.create_deployment(restApiId=api_id, description="v1")["id"]
    stage = apigw.create_stage(
        restApiId=api_id, stageName="prod", deploymentId=v1, variables={"color": "blue"}
    )
    assert stage["deploymentId"] == v1
    assert server.invoke(api_id, "/prod/hello") == (200, {"version": "v1", "color": "blue"})

    # v2 of the definition, deployed as a canary that takes every request for this test.
    apigw.put_rest_api(
        restApiId=api_id,
        mode="overwrite",
        body=json.dumps(mock_document("boto-imported", "v2")).encode(),
    )
    v2 = apigw.create_deployment(
        restApiId=api_id,
        stageName="prod",
        canarySettings={"percentTraffic": 100.0, "stageVariableOverrides": {"color": "green"}},
    )["id"]
    stage = apigw.get_stage(restApiId=api_id, stageName="prod")
    assert stage["deploymentId"] == v1
    assert stage["canarySettings"]["deploymentId"] == v2
    assert stage["canarySettings"]["percentTraffic"] == 100.0
    assert server.invoke(api_id, "/prod/hello") == (200, {"version": "v2", "color": "green"})

    # Half the traffic: both versions answer.
    apigw.update_stage(
        restApiId=api_id,
        stageName="prod",
        patchOperations=[{"op": "replace", "path": "/canarySettings/percentTraffic", "value": "50"}],
    )
    seen = {server.invoke(api_id, "/prod/hello")[1]["version"] for _ in range(200)}
    assert seen == {"v1", "v2"}

    # A deployment in use cannot be deleted.
    with pytest.raises(ClientError) as e:
        apigw.delete_deployment(restApiId=api_id, deploymentId=v1)
    assert e.value.response["Error"]["Code"] == "BadRequestException"
    assert e.value.response["Error"]["Message"] == (
        "Active stages pointing to this deployment must be moved or deleted"
    )

    # Promote: the canary's deployment becomes the stage's, then the canary goes.
    promoted = apigw.update_stage(
        restApiId=api_id,
        stageName="prod",
        patchOperations=[
            {"op": "replace", "path": "/deploymentId", "value": v2},
            {"op": "remove", "path": "/canarySettings"},
        ],
    )
    assert promoted["deploymentId"] == v2
    assert "canarySettings" not in promoted
    for _ in range(20):
        assert server.invoke(api_id, "/prod/hello") == (200, {"version": "v2", "color": "blue"})
    apigw.delete_deployment(restApiId=api_id, deploymentId=v1)
    assert [d["id"] for d in apigw.get_deployments(restApiId=api_id)["items"]] == [v2]

    exported = apigw.get_export(restApiId=api_id, stageName="prod", exportType="oas30")
    doc = json.loads(exported["body"].read())
    assert doc["openapi"].startswith("3.0")
    assert "/hello" in doc["paths"]

    apigw.delete_stage(restApiId=api_id, stageName="prod")
    status, body = server.invoke(api_id, "/prod/hello")
    assert status == 403
    apigw.delete_rest_api(restApiId=api_id)


def test_methods_and_integrations_by_hand(server, apigw):
    api = apigw.create_rest_api(name="by-hand")
    api_id, root = api["id"], api["rootResourceId"]
    res = apigw.create_resource(restApiId=api_id, parentId=root, pathPart="greet")
    assert res["path"] == "/greet"
    apigw.put_method(restApiId=api_id, resourceId=res["id"], httpMethod="GET", authorizationType="NONE")
    apigw.put_integration(
        restApiId=api_id,
        resourceId=res["id"],
        httpMethod="GET",
        type="MOCK",
        requestTemplates={"application/json": '{"statusCode": 200}'},
    )
    apigw.put_method_response(restApiId=api_id, resourceId=res["id"], httpMethod="GET", statusCode="200")
    apigw.put_integration_response(
        restApiId=api_id,
        resourceId=res["id"],
        httpMethod="GET",
        statusCode="200",
        responseTemplates={"application/json": '{"greeting": "hi"}'},
    )
    method = apigw.get_method(restApiId=api_id, resourceId=res["id"], httpMethod="GET")
    assert method["methodIntegration"]["type"] == "MOCK"
    apigw.create_deployment(restApiId=api_id, stageName="dev")
    assert server.invoke(api_id, "/dev/greet") == (200, {"greeting": "hi"})

    apigw.put_gateway_response(
        restApiId=api_id,
        responseType="MISSING_AUTHENTICATION_TOKEN",
        statusCode="404",
        responseTemplates={"application/json": '{"message": "no such thing"}'},
    )
    types = {g["responseType"] for g in apigw.get_gateway_responses(restApiId=api_id)["items"]}
    assert "MISSING_AUTHENTICATION_TOKEN" in types
    apigw.create_deployment(restApiId=api_id, stageName="dev")
    assert server.invoke(api_id, "/dev/nothing") == (404, {"message": "no such thing"})

    with pytest.raises(ClientError) as e:
        apigw.create_stage(restApiId=api_id, stageName="dev", deploymentId="nope")
    assert e.value.response["Error"]["Code"] in ("NotFoundException", "ConflictException")
    apigw.delete_rest_api(restApiId=api_id)


def test_wrong_key_is_refused(server):
    bad = boto3.client(
        "apigateway",
        endpoint_url=f"http://{server.admin}",
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key="not-the-secret",
        region_name="eu-west-1",
        config=Config(retries={"max_attempts": 1}),
    )
    with pytest.raises(ClientError) as e:
        bad.get_rest_apis()
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert e.value.response["Error"]["Code"] == "InvalidSignatureException"
    # The client listener does not serve the admin API.
    req = urllib.request.Request(f"http://{server.gateway}/restapis")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=10)
    assert e.value.code in (403, 404)


@pytest.fixture(scope="module")
def upstream():
    """A local HTTP server answering every GET with its path as JSON."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Echo(BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps({"path": self.path}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()


def test_http_api_with_apigatewayv2(server, upstream):
    v2 = server.client("apigatewayv2")
    api = v2.create_api(Name="boto-http", ProtocolType="HTTP")
    api_id = api["ApiId"]
    assert api["ProtocolType"] == "HTTP"
    integ = v2.create_integration(
        ApiId=api_id,
        IntegrationType="HTTP_PROXY",
        IntegrationMethod="GET",
        IntegrationUri=f"http://{upstream}/things",
        PayloadFormatVersion="1.0",
    )
    route = v2.create_route(
        ApiId=api_id, RouteKey="GET /things", Target=f"integrations/{integ['IntegrationId']}"
    )
    assert route["RouteKey"] == "GET /things"
    stage = v2.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
    assert stage["AutoDeploy"] is True
    assert server.invoke(api_id, "/things") == (200, {"path": "/things"})
    status, _ = server.invoke(api_id, "/other")
    assert status == 404

    # Reimport replaces the routes; the autoDeploy stage follows.
    doc = {
        "openapi": "3.0.1",
        "info": {"title": "boto-http", "version": "2"},
        "paths": {
            "/other": {
                "get": {
                    "x-amazon-apigateway-integration": {
                        "type": "http_proxy",
                        "httpMethod": "GET",
                        "payloadFormatVersion": "1.0",
                        "uri": f"http://{upstream}/other",
                    }
                }
            }
        },
    }
    v2.reimport_api(ApiId=api_id, Body=json.dumps(doc))
    assert server.invoke(api_id, "/other") == (200, {"path": "/other"})
    assert server.invoke(api_id, "/things")[0] == 404
    routes = v2.get_routes(ApiId=api_id)["Items"]
    assert [r["RouteKey"] for r in routes] == ["GET /other"]

    dep = v2.create_deployment(ApiId=api_id, Description="manual")
    assert dep["DeploymentStatus"] == "DEPLOYED"
    assert any(d["DeploymentId"] == dep["DeploymentId"] for d in v2.get_deployments(ApiId=api_id)["Items"])

    imported = v2.import_api(Body=json.dumps(doc))
    assert imported["Name"] == "boto-http"
    v2.delete_api(ApiId=imported["ApiId"])
    v2.delete_api(ApiId=api_id)
    with pytest.raises(ClientError) as e:
        v2.get_api(ApiId=api_id)
    assert e.value.response["Error"]["Code"] == "NotFoundException"


def test_updates_pages_and_export(server, apigw):
    api_id = apigw.import_rest_api(body=json.dumps(mock_document("paged", "v1")))["id"]
    deps = [
        apigw.create_deployment(restApiId=api_id, description=f"d{i}")["id"] for i in range(3)
    ]
    updated = apigw.update_deployment(
        restApiId=api_id,
        deploymentId=deps[0],
        patchOperations=[{"op": "replace", "path": "/description", "value": "first"}],
    )
    assert updated["description"] == "first"
    # boto3's paginator follows `position` with `limit`.
    pages = list(
        apigw.get_paginator("get_deployments").paginate(
            restApiId=api_id, PaginationConfig={"PageSize": 2}
        )
    )
    assert [len(p["items"]) for p in pages] == [2, 1]
    assert sorted(d["id"] for p in pages for d in p["items"]) == sorted(deps)

    v2 = server.client("apigatewayv2")
    api = v2.create_api(Name="v2paged", ProtocolType="HTTP", Target="http://127.0.0.1:9/base")
    http_id = api["ApiId"]
    assert v2.update_api(ApiId=http_id, Description="described")["Description"] == "described"
    integ = v2.get_integrations(ApiId=http_id)["Items"][0]["IntegrationId"]
    for key in ["GET /a", "GET /b"]:
        v2.create_route(ApiId=http_id, RouteKey=key, Target=f"integrations/{integ}")
    route = v2.get_routes(ApiId=http_id, MaxResults="1")
    assert len(route["Items"]) == 1 and route["NextToken"]
    rest = v2.get_routes(ApiId=http_id, NextToken=route["NextToken"])
    assert len(rest["Items"]) == 2 and "NextToken" not in rest
    a = next(r for r in route["Items"] + rest["Items"] if r["RouteKey"] == "GET /a")
    assert v2.update_route(ApiId=http_id, RouteId=a["RouteId"], RouteKey="GET /c")["RouteKey"] == "GET /c"
    assert (
        v2.update_integration(ApiId=http_id, IntegrationId=integ, TimeoutInMillis=5000)[
            "TimeoutInMillis"
        ]
        == 5000
    )
    exported = v2.export_api(ApiId=http_id, Specification="OAS30", OutputType="JSON")
    doc = json.loads(exported["body"].read())
    assert doc["openapi"] == "3.0.1"
    assert "/c" in doc["paths"] and "/a" not in doc["paths"]
