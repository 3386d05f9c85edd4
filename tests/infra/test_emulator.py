"""target=emulator: the same stack, built to run on the Docker-free emulator on this machine."""

from __future__ import annotations

import platform
import sys
from pathlib import Path
from unittest import mock

import pytest
from aws_cdk import BundlingOptions, DockerImage

from infra.constructs.powertools_layer import LAYER_SOURCE_DIR, REQUIREMENTS_FILE, PipInstallLocally, pip_install_args
from tests.infra.helpers import Synthesized, function_properties, logical_id

pytestmark = pytest.mark.infra

HOST_PYTHON = f"python{sys.version_info.major}.{sys.version_info.minor}"
HOST_ARCHITECTURE = "arm64" if platform.machine().lower() in {"aarch64", "arm64"} else "x86_64"


def test_function_matches_the_host(emulator_stack: Synthesized) -> None:
    emulator_stack.template.has_resource_properties(
        "AWS::Lambda::Function", {"Runtime": HOST_PYTHON, "Architectures": [HOST_ARCHITECTURE]}
    )


def test_powertools_layer_is_built_locally(emulator_stack: Synthesized) -> None:
    layer = logical_id(emulator_stack, "AWS::Lambda::LayerVersion", "Powertools")
    assert function_properties(emulator_stack)["Layers"] == [{"Ref": layer}]
    emulator_stack.template.has_resource_properties(
        "AWS::Lambda::LayerVersion",
        {"CompatibleRuntimes": [HOST_PYTHON], "CompatibleArchitectures": [HOST_ARCHITECTURE]},
    )
    assert "powertools" not in str(emulator_stack.template_json.get("Parameters", {}))


def test_no_node_custom_resources(emulator_stack: Synthesized) -> None:
    # ephemeral, but without the auto-delete custom resource (a Node.js Lambda).
    emulator_stack.template.resource_count_is("Custom::S3AutoDeleteObjects", 0)
    emulator_stack.template.resource_count_is("AWS::Lambda::Function", 5)  # ours only
    emulator_stack.template.all_resources("AWS::S3::Bucket", {"DeletionPolicy": "Delete"})


def test_same_environment_names_as_aws(emulator_stack: Synthesized, default_stack: Synthesized) -> None:
    emulator_env = function_properties(emulator_stack)["Environment"]["Variables"]
    aws_env = function_properties(default_stack)["Environment"]["Variables"]
    assert set(emulator_env) == set(aws_env)


@pytest.mark.parametrize(
    ("architecture", "platform_tag"), [("arm64", "manylinux2014_aarch64"), ("x86_64", "manylinux2014_x86_64")]
)
def test_pip_fetches_wheels_for_the_function_platform(architecture: str, platform_tag: str) -> None:
    args = pip_install_args(
        target_dir="/out/python", requirements="req.txt", architecture=architecture, python_version="3.13"
    )
    assert args[args.index("--platform") + 1] == platform_tag
    assert args[args.index("--python-version") + 1] == "3.13"
    assert args[args.index("--target") + 1] == "/out/python"
    assert {"--only-binary=:all:", "--no-deps"} <= set(args)


def test_local_bundling_runs_pip_into_the_layer_layout(tmp_path: Path) -> None:
    bundler = PipInstallLocally(source_dir=LAYER_SOURCE_DIR, architecture="x86_64", python_version="3.11")
    with mock.patch("infra.constructs.powertools_layer.subprocess.run") as run:
        done = bundler.try_bundle(str(tmp_path), BundlingOptions(image=DockerImage.from_registry("unused")))
    assert done is True
    (command,), kwargs = run.call_args
    assert command[:4] == [sys.executable, "-m", "pip", "install"]
    assert command[command.index("--target") + 1] == str(tmp_path / "python")
    assert command[command.index("--requirement") + 1] == str(LAYER_SOURCE_DIR / REQUIREMENTS_FILE)
    assert kwargs == {"check": True}


def test_layer_requirements_pin_powertools() -> None:
    lines = [
        line.strip()
        for line in (LAYER_SOURCE_DIR / REQUIREMENTS_FILE).read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert all("==" in line for line in lines), lines
    assert any(line.startswith("aws-lambda-powertools==3.") for line in lines)
    assert not any(line.split("==")[0] in {"boto3", "botocore"} for line in lines)
