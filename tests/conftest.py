"""Settings every test run shares, set before any test module imports the handler.

Powertools reads its POWERTOOLS_* variables when the module-level Logger/Metrics are created,
as in Lambda where the environment exists before the import.
"""

import os

os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "telegent-sms")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "TelegentSms")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "INFO")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
