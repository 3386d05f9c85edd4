"""The Powertools for AWS Lambda (Python) layer: the public one on AWS, a local build for the emulator."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import cast

import jsii
from aws_cdk import BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from infra import REPO_ROOT

LAYER_SOURCE_DIR = REPO_ROOT / "infra" / "powertools_layer"
REQUIREMENTS_FILE = "requirements.txt"
# Published by the Powertools team in every commercial region; resolved at deploy time, so synth
# stays offline and needs no AWS credentials.
PUBLIC_LAYER_PARAMETER = "/aws/service/powertools/python/{architecture}/{runtime}/latest"

_PIP_PLATFORMS = {
    lambda_.Architecture.ARM_64.name: "manylinux2014_aarch64",
    lambda_.Architecture.X86_64.name: "manylinux2014_x86_64",
}


def pip_install_args(*, target_dir: str, requirements: str, architecture: str, python_version: str) -> list[str]:
    """pip arguments that fetch wheels for the function's platform, whatever machine runs them."""
    return [
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",  # the runtime writes its own bytecode; keeps the layer host-independent
        "--no-deps",  # the requirements file is the complete closure (it leaves out the AWS SDK)
        "--only-binary=:all:",
        "--implementation",
        "cp",
        "--platform",
        _PIP_PLATFORMS[architecture],
        "--python-version",
        python_version,
        "--target",
        target_dir,
        "--requirement",
        requirements,
    ]


@jsii.implements(ILocalBundling)
class PipInstallLocally:
    """Builds the layer with this interpreter's pip, so no Docker engine is needed.

    CDK calls try_bundle (positionally, with the BundlingOptions struct) before it would start
    a container; returning True means the output is ready.
    """

    def __init__(self, *, source_dir: Path, architecture: str, python_version: str) -> None:
        self._source_dir = source_dir
        self._architecture = architecture
        self._python_version = python_version

    def try_bundle(self, output_dir: str, _options: BundlingOptions) -> bool:
        if importlib.util.find_spec("pip") is None:
            return False  # no pip here: let CDK fall back to the container
        args = pip_install_args(
            # Lambda adds /opt/python of every layer to sys.path.
            target_dir=str(Path(output_dir) / "python"),
            requirements=str(self._source_dir / REQUIREMENTS_FILE),
            architecture=self._architecture,
            python_version=self._python_version,
        )
        # Fixed argument list, no shell: S603 is about untrusted input, which this is not.
        subprocess.run([sys.executable, "-m", "pip", *args], check=True)  # noqa: S603
        return True


class PowertoolsLayer(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        runtime: lambda_.Runtime,
        architecture: lambda_.Architecture,
        build_locally: bool,
        layer_arn: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.layer: lambda_.ILayerVersion
        if build_locally:
            self.layer = self._local_layer(runtime, architecture)
            return
        if layer_arn is None:
            layer_arn = ssm.StringParameter.value_for_string_parameter(
                self,
                PUBLIC_LAYER_PARAMETER.format(architecture=architecture.name, runtime=runtime.name),
            )
        self.layer = lambda_.LayerVersion.from_layer_version_arn(self, "Public", layer_arn)

    def _local_layer(self, runtime: lambda_.Runtime, architecture: lambda_.Architecture) -> lambda_.LayerVersion:
        python_version = runtime.name.removeprefix("python")
        # The container command is the same pip call, so a machine with Docker could build it
        # too; here local bundling always succeeds first and Docker is never started.
        in_container = pip_install_args(
            target_dir="/asset-output/python",
            requirements=f"/asset-input/{REQUIREMENTS_FILE}",
            architecture=architecture.name,
            python_version=python_version,
        )
        code = lambda_.Code.from_asset(
            str(LAYER_SOURCE_DIR),
            bundling=BundlingOptions(
                image=DockerImage.from_registry(f"public.ecr.aws/sam/build-{runtime.name}"),
                command=["pip", *in_container],
                # cast: the generated ILocalBundling stub spells the options out as keyword
                # arguments, but the jsii kernel passes them as one positional struct.
                local=cast(
                    ILocalBundling,
                    PipInstallLocally(
                        source_dir=LAYER_SOURCE_DIR,
                        architecture=architecture.name,
                        python_version=python_version,
                    ),
                ),
            ),
        )
        return lambda_.LayerVersion(
            self,
            "Local",
            code=code,
            compatible_runtimes=[runtime],
            compatible_architectures=[architecture],
            description=f"Powertools for AWS Lambda (Python) built locally for {runtime.name} {architecture.name}",
        )
