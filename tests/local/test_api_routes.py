"""The gateway's routes come from template.yaml's Api events, with API Gateway's path matching."""

import pytest

from local.api_routes import ApiRoute, api_routes, find_route
from local.cfn import load_template


@pytest.fixture(scope="module")
def routes():
    return api_routes(load_template())


def test_the_template_declares_the_webhooks_the_oauth_callback_and_the_admin_api(routes):
    served = {(route.method, route.resource_path): route for route in routes}

    assert set(served) == {
        ("POST", "/webhooks/paysimple"),
        ("POST", "/webhooks/qbo"),
        ("ANY", "/admin/{proxy+}"),
        ("GET", "/oauth/qbo/callback"),
    }
    assert served["POST", "/webhooks/paysimple"].function_logical_id == "IngestFunction"
    assert served["POST", "/webhooks/qbo"].function_logical_id == "QboWebhookFunction"
    assert served["ANY", "/admin/{proxy+}"].function_logical_id == "AdminFunction"
    assert served["GET", "/oauth/qbo/callback"].function_logical_id == "AdminFunction"


def test_only_the_admin_api_requires_iam_auth(routes):
    protected = {route.resource_path for route in routes if route.requires_iam}

    assert protected == {"/admin/{proxy+}"}
    assert {route.stage for route in routes} == {"v1"}


@pytest.mark.parametrize(
    ("method", "path", "resource", "parameters"),
    [
        ("POST", "/webhooks/paysimple", "/webhooks/paysimple", {}),
        ("GET", "/oauth/qbo/callback", "/oauth/qbo/callback", {}),
        ("GET", "/admin/field-catalog", "/admin/{proxy+}", {"proxy": "field-catalog"}),
        ("DELETE", "/admin/merchants/1225/links/42", "/admin/{proxy+}", {"proxy": "merchants/1225/links/42"}),
        ("GET", "/webhooks/paysimple", None, None),  # wrong method
        ("POST", "/oauth/qbo/callback", None, None),
        ("GET", "/admin", None, None),  # {proxy+} needs at least one character
        ("GET", "/admin/", None, None),
        ("GET", "/elsewhere", None, None),
    ],
)
def test_a_request_matches_the_route_api_gateway_would_pick(routes, method, path, resource, parameters):
    found = find_route(routes, method, path)

    if resource is None:
        assert found is None
    else:
        assert found is not None
        route, path_parameters = found
        assert route.resource_path == resource
        assert path_parameters == parameters


def chosen(routes, method, path):
    found = find_route(routes, method, path)
    assert found is not None
    return found[0]


def test_a_literal_path_wins_over_parameters_and_a_parameter_over_a_greedy_one():
    greedy = ApiRoute("Proxy", "Api", "v1", "/things/{proxy+}", "ANY", False)
    literal = ApiRoute("Literal", "Api", "v1", "/things/special", "GET", False)
    single = ApiRoute("Single", "Api", "v1", "/things/{thing_id}/parts", "GET", False)

    assert chosen([greedy, literal], "GET", "/things/special") is literal
    assert chosen([greedy, single], "GET", "/things/7/parts") is single
    assert chosen([greedy, single], "GET", "/things/7/other") is greedy
    assert single.match("GET", "/things/7/parts") == {"thing_id": "7"}
    assert single.match("GET", "/things/7/8/parts") is None
