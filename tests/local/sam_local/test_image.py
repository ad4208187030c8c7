"""The local Lambda image's recipe: its tag follows its inputs; its runtime is Lambda's python3.11."""

import dataclasses
import re

from local.cfn import PROJECT_ROOT
from local.sam_local.build_image import IMAGE_REPOSITORY, project_recipe


def _pin(requirements: str, name: str) -> str | None:
    match = re.search(rf"^{re.escape(name)}==(\S+)", requirements, re.MULTILINE)
    return match.group(1) if match else None


def test_the_tag_is_stable_for_the_same_inputs():
    # Given the project's recipe read twice / When tagged / Then both give the same image
    assert project_recipe().tag == project_recipe().tag
    assert project_recipe().tag.startswith(f"{IMAGE_REPOSITORY}:")


def test_changing_any_input_changes_the_tag():
    # Given the project's recipe
    recipe = project_recipe()
    # When one input changes at a time
    changed = [
        dataclasses.replace(recipe, runtime_requirements=recipe.runtime_requirements + "simplejson==1.0\n"),
        dataclasses.replace(recipe, bootstrap=recipe.bootstrap + "\n"),
        dataclasses.replace(recipe, packages=(*recipe.packages, "curl")),
        dataclasses.replace(recipe, version=recipe.version + 1),
    ]
    # Then each gives a new tag, so a cached image is never reused for a different recipe
    assert len({recipe.tag, *(c.tag for c in changed)}) == 1 + len(changed)


def test_the_image_bundles_the_same_boto3_as_the_tests_use():
    # Given the runtime's requirements and the dev requirements
    runtime = project_recipe().runtime_requirements
    dev = (PROJECT_ROOT / "requirements-dev.txt").read_text()
    # Then the SDK the image bundles (as Lambda's runtime does) is the one the tests run against
    assert _pin(runtime, "boto3") is not None
    assert _pin(runtime, "boto3") == _pin(dev, "boto3")


def test_the_image_bundles_only_what_lambdas_python_runtime_ships():
    # Given the image's runtime requirements
    lines = project_recipe().runtime_requirements.splitlines()
    names = {line.split("==")[0].lower() for line in lines if line.strip() and not line.startswith("#")}
    # Then they are the runtime interface client and the SDK, nothing more: a dependency missing from the
    # layer (pydantic, Powertools, requests) fails under sam local invoke, as it would in AWS
    assert names == {"awslambdaric", "boto3"}


def test_the_bootstrap_gives_lambdas_module_search_path_and_handler():
    # Given the runtime's bootstrap script
    bootstrap = project_recipe().bootstrap
    # Then function code comes first, then layers, then the runtime's own packages, and the handler is SAM's
    assert (
        'PYTHONPATH="/var/task:/opt/python/lib/python3.11/site-packages:/opt/python:/var/runtime"'
        in bootstrap
    )
    assert '-m awslambdaric "${_HANDLER:-$AWS_LAMBDA_FUNCTION_HANDLER}"' in bootstrap
