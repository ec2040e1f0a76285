"""AWS's Python toolkit (aws-lambda-powertools) routing on Archway's events: if it parses them,
a third party reads them as AWS's. Run by awslambdaric, AWS's runtime interface client."""
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, APIGatewayRestResolver

rest = APIGatewayRestResolver()
http = APIGatewayHttpResolver()


@rest.get("/pets/<pet_id>")
def get_pet(pet_id):
    ev = rest.current_event
    return {
        "pet": pet_id,
        "stage": ev.request_context.stage,
        "q": ev.get_query_string_value("q"),
        "ip": ev.request_context.identity.source_ip,
        "header": ev.get_header_value("x-probe"),
    }


@rest.post("/pets")
def add_pet():
    return {"added": rest.current_event.json_body["name"]}, 201


@http.get("/items/<item_id>")
def get_item(item_id):
    ev = http.current_event
    return {
        "item": item_id,
        "cookies": ev.cookies,
        "method": ev.request_context.http.method,
        "q": ev.get_query_string_value("q"),
    }


def rest_handler(event, context):
    return rest.resolve(event, context)


def http_handler(event, context):
    return http.resolve(event, context)
