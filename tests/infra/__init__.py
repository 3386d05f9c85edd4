"""Template tests for the CDK stack in infra/.

The jsii kernel (a Node.js process) starts when aws_cdk is first imported, and reads this
variable then; set it before any test module of this package imports aws_cdk.
"""

import os

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
