"""The environment every test runs in: placeholder AWS credentials and region (so nothing can reach a real
AWS account) and the Powertools settings template.yaml gives every function."""

FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "CustomerSync",
    "POWERTOOLS_SERVICE_NAME": "customer-sync",
}
