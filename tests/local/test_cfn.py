"""load_template's contract: CloudFormation's short forms as their long forms, in plain built-in types."""

import pytest
import yaml

from local.cfn import load_template

SHORT_FORMS = """\
Parameters:
  Prefix: {Type: String, Default: app/}
Resources:
  Queue:
    Type: AWS::SQS::Queue
  Secret:
    Type: AWS::SecretsManager::Secret
    Properties:
      Name: !Sub "${Prefix}key"
      Tags:
        - {Key: queue, Value: !Ref Queue}
        - {Key: arn, Value: !GetAtt Queue.Arn}
        - {Key: url, Value: !GetAtt [Queue, QueueUrl]}
        - {Key: joined, Value: !Join ["-", [a, !Ref Prefix]]}
"""


def test_short_forms_become_long_forms(tmp_path):
    # Given a template written with !Sub, !Ref, !GetAtt (both spellings) and a nested !Join
    path = tmp_path / "template.yaml"
    path.write_text(SHORT_FORMS)
    # When loaded
    template = load_template(path)
    # Then each is its long form, as CloudFormation reads it
    secret = template["Resources"]["Secret"]["Properties"]
    assert secret["Name"] == {"Fn::Sub": "${Prefix}key"}
    assert [tag["Value"] for tag in secret["Tags"]] == [
        {"Ref": "Queue"},
        {"Fn::GetAtt": ["Queue", "Arn"]},
        {"Fn::GetAtt": ["Queue", "QueueUrl"]},
        {"Fn::Join": ["-", ["a", {"Ref": "Prefix"}]]},
    ]


def test_the_template_is_plain_built_in_values_that_dump_as_yaml(tmp_path):
    # Given a loaded template
    path = tmp_path / "template.yaml"
    path.write_text(SHORT_FORMS)
    template = load_template(path)

    # Then every container and string is the built-in type itself (make sam-local safe_dumps the template)
    def types(value):
        if isinstance(value, dict):
            return {type(value)} | {t for k, v in value.items() for t in types(k) | types(v)}
        if isinstance(value, list):
            return {type(value)} | {t for item in value for t in types(item)}
        return {type(value)}

    assert types(template) == {dict, list, str}
    assert yaml.safe_load(yaml.safe_dump(template)) == template


def test_a_duplicate_key_is_refused(tmp_path):
    # Given a template where a resource is declared twice (YAML would keep the last one silently)
    path = tmp_path / "template.yaml"
    path.write_text("Resources:\n  Queue: {Type: AWS::SQS::Queue}\n  Queue: {Type: AWS::SNS::Topic}\n")
    # When loaded / Then it is an error naming the duplicate
    with pytest.raises(ValueError, match="Duplicate found 'Queue'"):
        load_template(path)


def test_the_projects_template_loads():
    # Given template.yaml / When loaded / Then its functions are there, with their long-form references
    template = load_template()
    assert {"IngestFunction", "SyncFunction", "AdminFunction"} <= set(template["Resources"])
    assert template["Globals"]["Function"]["Layers"] == [{"Ref": "SharedLayer"}]
