"""The merchant console in template.yaml: its users (Cognito), its API (a Cognito authorizer on every
route), and its pages (a private bucket read only by CloudFront through origin access control, with the API
as a second origin so the page never needs CORS)."""

from __future__ import annotations

from typing import Any

from local.cfn import load_template

TEMPLATE = load_template()
RESOURCES: dict[str, dict[str, Any]] = TEMPLATE["Resources"]


def props(logical_id: str) -> dict[str, Any]:
    return dict(RESOURCES[logical_id]["Properties"])


def console_api_events() -> list[dict[str, Any]]:
    return [
        event["Properties"]
        for function in RESOURCES.values()
        if function["Type"] == "AWS::Serverless::Function"
        for event in function["Properties"].get("Events", {}).values()
        if event["Type"] == "Api" and event["Properties"]["RestApiId"] == {"Ref": "ConsoleApi"}
    ]


def test_the_console_api_authorizes_every_route_with_the_console_user_pool() -> None:
    # Given the console's API
    auth = props("ConsoleApi")["Auth"]

    # Then its default authorizer is a Cognito user-pool authorizer on ConsoleUserPool, reading the
    # Authorization header
    authorizer = auth["Authorizers"][auth["DefaultAuthorizer"]]
    assert authorizer["UserPoolArn"] == {"Fn::GetAtt": ["ConsoleUserPool", "Arn"]}
    assert authorizer["Identity"]["Header"] == "Authorization"
    assert "AddDefaultAuthorizerToCorsPreflight" not in auth and "Cors" not in props("ConsoleApi")

    # And every route on it keeps that authorizer (none opts out, none is added without it)
    events = console_api_events()
    assert events
    for event in events:
        assert event.get("Auth", {}).get("Authorizer", auth["DefaultAuthorizer"]) == auth["DefaultAuthorizer"]
        assert str(event["Path"]).startswith("/admin/")


def test_merchant_admins_carry_an_immutable_merchant_the_app_client_cannot_write() -> None:
    pool = props("ConsoleUserPool")
    merchant = next(attribute for attribute in pool["Schema"] if attribute["Name"] == "merchant_id")
    assert merchant["Mutable"] is False
    assert pool["UsernameAttributes"] == ["email"]
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True

    client = props("ConsoleUserPoolClient")
    assert client["GenerateSecret"] is False  # a page holds it: public client
    assert "custom:merchant_id" in client["ReadAttributes"]
    assert "custom:merchant_id" not in client["WriteAttributes"]
    assert "ALLOW_USER_PASSWORD_AUTH" in client["ExplicitAuthFlows"]


def test_operators_are_a_group_of_the_pool() -> None:
    group = props("OperatorsGroup")
    assert group == {**group, "GroupName": "operators", "UserPoolId": {"Ref": "ConsoleUserPool"}}


def test_only_the_admin_function_may_invite_users_and_only_into_the_console_pool() -> None:
    statements = [
        statement
        for entry in props("AdminFunction")["Policies"]
        for statement in entry.get("Statement", [])
        if any(str(action).startswith("cognito-idp:") for action in statement["Action"])
    ]
    assert statements == [
        {
            "Effect": "Allow",
            "Action": ["cognito-idp:AdminCreateUser"],
            "Resource": {"Fn::GetAtt": ["ConsoleUserPool", "Arn"]},
        }
    ]
    assert props("AdminFunction")["Environment"]["Variables"]["USER_POOL_ID"] == {"Ref": "ConsoleUserPool"}


def test_the_console_bucket_is_private_and_read_only_by_the_distribution() -> None:
    bucket = props("ConsoleBucket")
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]

    statements = props("ConsoleBucketPolicy")["PolicyDocument"]["Statement"]
    (read,) = [statement for statement in statements if statement["Effect"] == "Allow"]
    assert read["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert read["Action"] == "s3:GetObject"
    source = read["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Sub"]
    assert source.endswith(":distribution/${ConsoleDistribution}")


def test_the_distribution_serves_the_files_through_oac_and_the_api_on_the_same_origin() -> None:
    config = props("ConsoleDistribution")["DistributionConfig"]
    origins = {origin["Id"]: origin for origin in config["Origins"]}

    # The files: the bucket, signed by origin access control (no legacy origin access identity)
    files = origins[config["DefaultCacheBehavior"]["TargetOriginId"]]
    assert files["DomainName"] == {"Fn::GetAtt": ["ConsoleBucket", "RegionalDomainName"]}
    assert files["OriginAccessControlId"] == {"Fn::GetAtt": ["ConsoleOriginAccessControl", "Id"]}
    assert files["S3OriginConfig"] == {"OriginAccessIdentity": ""}
    oac = props("ConsoleOriginAccessControl")["OriginAccessControlConfig"]
    assert (oac["OriginAccessControlOriginType"], oac["SigningBehavior"]) == ("s3", "always")

    # /admin/*: the console's API, https only, nothing cached across tokens
    behaviors = {behavior["PathPattern"]: behavior for behavior in config["CacheBehaviors"]}
    api = behaviors["/admin/*"]
    assert "${ConsoleApi}" in origins[api["TargetOriginId"]]["DomainName"]["Fn::Sub"]
    assert api["ViewerProtocolPolicy"] == "https-only"
    assert {"POST", "PUT", "DELETE"} <= set(api["AllowedMethods"])
    cache = props("ConsoleApiCachePolicy")["CachePolicyConfig"]
    assert cache["DefaultTTL"] == 0
    assert "Authorization" in cache["ParametersInCacheKeyAndForwardedToOrigin"]["HeadersConfig"]["Headers"]

    # /oauth/*: Intuit's redirect reaches the public callback on the console's origin
    assert "${WebhookApi}" in origins[behaviors["/oauth/*"]["TargetOriginId"]]["DomainName"]["Fn::Sub"]
    assert TEMPLATE["Outputs"]["QboOAuthRedirectUri"]["Value"]["Fn::Sub"] == (
        "https://${ConsoleDistribution.DomainName}/oauth/qbo/callback"
    )


def test_the_pages_may_talk_only_to_their_origin_and_cognito() -> None:
    policy = props("ConsoleSecurityHeaders")["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    csp = policy["ContentSecurityPolicy"]["ContentSecurityPolicy"]["Fn::Sub"]
    assert "default-src 'self'" in csp
    assert "connect-src 'self' https://cognito-idp.${AWS::Region}.amazonaws.com;" in csp
    assert "script-src 'self';" in csp and "frame-ancestors 'none'" in csp
