"""The API Gateway routes template.yaml declares (functions' `Type: Api` events), and how a path matches one.

The gateway serves exactly these, so a route added to the template is served locally without a second list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_PARAMETER = re.compile(r"\{([A-Za-z0-9_]+)(\+?)\}")


@dataclass(frozen=True)
class ApiRoute:
    function_logical_id: str
    api_logical_id: str
    stage: str
    resource_path: str  # as in the template, e.g. "/admin/{proxy+}"
    method: str  # upper case; "ANY" matches every method
    requires_iam: bool  # the API's default authorizer is AWS_IAM (the admin API)
    requires_cognito: bool = False  # a Cognito user-pool authorizer (the console's API)

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """Path parameters if this route serves `method path`, else None."""
        if self.method not in ("ANY", method.upper()):
            return None
        found = _path_pattern(self.resource_path).fullmatch(path)
        return None if found is None else found.groupdict()


def _path_pattern(resource_path: str) -> re.Pattern[str]:
    pattern = ""
    position = 0
    for parameter in _PARAMETER.finditer(resource_path):
        pattern += re.escape(resource_path[position : parameter.start()])
        greedy = parameter.group(2) == "+"
        # A greedy parameter ({proxy+}) spans segments; a plain one is exactly one non-empty segment.
        pattern += f"(?P<{parameter.group(1)}>{'.+' if greedy else '[^/]+'})"
        position = parameter.end()
    return re.compile(pattern + re.escape(resource_path[position:]))


def _logical_id(reference: Any) -> str:
    if isinstance(reference, dict) and "Ref" in reference:
        return str(reference["Ref"])
    raise ValueError(f"RestApiId must be a !Ref to an AWS::Serverless::Api, got {reference!r}")


def api_routes(template: dict[str, Any]) -> list[ApiRoute]:
    resources: dict[str, Any] = template["Resources"]
    routes: list[ApiRoute] = []
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for event in resource["Properties"].get("Events", {}).values():
            if event["Type"] != "Api":
                continue
            props = event["Properties"]
            api_id = _logical_id(props["RestApiId"])
            api_props = resources[api_id]["Properties"]
            auth = api_props.get("Auth", {})
            authorizer = auth.get("DefaultAuthorizer")
            user_pool = "UserPoolArn" in auth.get("Authorizers", {}).get(authorizer, {})
            routes.append(
                ApiRoute(
                    function_logical_id=logical_id,
                    api_logical_id=api_id,
                    stage=str(api_props["StageName"]),
                    resource_path=str(props["Path"]),
                    method=str(props["Method"]).upper(),
                    requires_iam=authorizer == "AWS_IAM",
                    requires_cognito=user_pool,
                )
            )
    return routes


def find_route(routes: list[ApiRoute], method: str, path: str) -> tuple[ApiRoute, dict[str, str]] | None:
    """The route serving the request, the most specific first as in API Gateway: literal paths, then
    paths with parameters, then greedy `{proxy+}` ones."""
    found = find_routes(routes, method, path)
    return found[0] if found else None


def find_routes(routes: list[ApiRoute], method: str, path: str) -> list[tuple[ApiRoute, dict[str, str]]]:
    """Every route of the most specific path serving the request: the same path may be served by several
    APIs (the admin routes by the IAM AdminApi and by the console's Cognito API), told apart by their auth."""
    ordered = sorted(
        routes,
        key=lambda route: (
            "+}" in route.resource_path,
            "{" in route.resource_path,
            -len(route.resource_path),
        ),
    )
    found: list[tuple[ApiRoute, dict[str, str]]] = []
    for route in ordered:
        parameters = route.match(method, path)
        if parameters is not None and (not found or found[0][0].resource_path == route.resource_path):
            found.append((route, parameters))
    return found
