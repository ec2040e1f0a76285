"""Usage plans and API keys driven by boto3: a plan with a throttle and a quota, a key created
and associated, the API called until it is throttled and until the quota is spent, then
`get_usage`, `update_usage`, and AWS's errors for bad input. Uses the server of
test_admin_boto3 (the real binary)."""

import datetime
import json

import pytest
from botocore.exceptions import ClientError

from test_admin_boto3 import Server

KEY_VALUE = "boto3-usage-key-0123456789"


@pytest.fixture(scope="module")
def server():
    s = Server()
    yield s
    s.stop()
    assert all(KEY_VALUE not in line for line in s.lines), "a key value was logged"


@pytest.fixture(scope="module")
def apigw(server):
    return server.client()


def keyed_api(apigw):
    """An API built by hand as in the console: GET /ping, MOCK, apiKeyRequired."""
    api_id = apigw.create_rest_api(name="metered")["id"]
    root = apigw.get_resources(restApiId=api_id)["items"][0]["id"]
    res = apigw.create_resource(restApiId=api_id, parentId=root, pathPart="ping")["id"]
    apigw.put_method(
        restApiId=api_id, resourceId=res, httpMethod="GET", authorizationType="NONE", apiKeyRequired=True
    )
    assert apigw.get_method(restApiId=api_id, resourceId=res, httpMethod="GET")["apiKeyRequired"] is True
    apigw.put_integration(
        restApiId=api_id,
        resourceId=res,
        httpMethod="GET",
        type="MOCK",
        requestTemplates={"application/json": '{"statusCode": 200}'},
    )
    apigw.put_method_response(restApiId=api_id, resourceId=res, httpMethod="GET", statusCode="200")
    apigw.put_integration_response(
        restApiId=api_id, resourceId=res, httpMethod="GET", statusCode="200", selectionPattern=""
    )
    apigw.create_deployment(restApiId=api_id, stageName="prod")
    return api_id


def test_usage_plan_throttle_quota_and_usage(server, apigw):
    api_id = keyed_api(apigw)
    plan = apigw.create_usage_plan(
        name="metered-plan",
        apiStages=[{"apiId": api_id, "stage": "prod"}],
        throttle={"rateLimit": 0.5, "burstLimit": 3},
        quota={"limit": 5, "period": "DAY"},
    )
    assert plan["quota"]["limit"] == 5 and plan["throttle"]["burstLimit"] == 3
    key = apigw.create_api_key(name="customer", enabled=True, value=KEY_VALUE)
    assert "value" not in apigw.get_api_key(apiKey=key["id"])
    assert apigw.get_api_key(apiKey=key["id"], includeValue=True)["value"] == KEY_VALUE
    pk = apigw.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    assert pk["value"] == KEY_VALUE and pk["type"] == "API_KEY"
    assert [k["id"] for k in apigw.get_usage_plan_keys(usagePlanId=plan["id"])["items"]] == [key["id"]]

    headers = {"x-api-key": KEY_VALUE}
    assert server.invoke(api_id, "/prod/ping")[0] == 403
    # Burst of 3, then throttled.
    statuses = [server.invoke(api_id, "/prod/ping", headers) for _ in range(4)]
    assert [s for s, _ in statuses] == [200, 200, 200, 429]
    assert statuses[3][1] == {"message": "Too Many Requests"}

    # Raise the throttle; the quota of 5 is then what stops it.
    apigw.update_usage_plan(
        usagePlanId=plan["id"],
        patchOperations=[
            {"op": "replace", "path": "/throttle/rateLimit", "value": "1000"},
            {"op": "replace", "path": "/throttle/burstLimit", "value": "1000"},
        ],
    )
    statuses = [server.invoke(api_id, "/prod/ping", headers) for _ in range(3)]
    assert [s for s, _ in statuses] == [200, 200, 429]
    assert statuses[2][1] == {"message": "Limit Exceeded"}

    today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    usage = apigw.get_usage(usagePlanId=plan["id"], startDate=today, endDate=today)
    assert usage["items"] == {key["id"]: [[5, 0]]}

    apigw.update_usage(
        usagePlanId=plan["id"],
        keyId=key["id"],
        patchOperations=[{"op": "replace", "path": "/remaining", "value": "1"}],
    )
    assert server.invoke(api_id, "/prod/ping", headers)[0] == 200
    assert server.invoke(api_id, "/prod/ping", headers)[0] == 429

    apigw.update_api_key(apiKey=key["id"], patchOperations=[{"op": "replace", "path": "/enabled", "value": "false"}])
    assert server.invoke(api_id, "/prod/ping", headers)[0] == 403


def test_import_api_keys_csv_and_errors(apigw):
    csv = "Name,key,description,Enabled,usageplanIds\ncsvkey,csv-imported-value-0123456789,from csv,true,\n"
    out = apigw.import_api_keys(body=csv.encode(), format="csv")
    assert len(out["ids"]) == 1
    got = apigw.get_api_key(apiKey=out["ids"][0], includeValue=True)
    assert got["name"] == "csvkey" and got["enabled"] is True and got["value"] == "csv-imported-value-0123456789"

    before = len(apigw.get_api_keys()["items"])
    with pytest.raises(ClientError) as e:
        apigw.create_api_key(name="dup", value="csv-imported-value-0123456789")
    assert e.value.response["Error"]["Code"] == "ConflictException"
    with pytest.raises(ClientError) as e:
        apigw.create_api_key(name="short", value="too-short")
    assert e.value.response["Error"]["Code"] == "BadRequestException"
    assert len(apigw.get_api_keys()["items"]) == before

    plans = len(apigw.get_usage_plans()["items"])
    for bad in (
        {"throttle": {"rateLimit": -1.0, "burstLimit": 1}},
        {"quota": {"limit": 10, "period": "YEAR"}},
        {"apiStages": [{"apiId": "nope", "stage": "prod"}]},
    ):
        with pytest.raises(ClientError) as e:
            apigw.create_usage_plan(name="bad", **bad)
        assert e.value.response["Error"]["Code"] == "BadRequestException"
    assert len(apigw.get_usage_plans()["items"]) == plans

    apigw.delete_api_key(apiKey=out["ids"][0])
    with pytest.raises(ClientError) as e:
        apigw.get_api_key(apiKey=out["ids"][0])
    assert e.value.response["Error"]["Code"] == "NotFoundException"
