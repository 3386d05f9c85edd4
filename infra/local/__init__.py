"""The infrastructure, locally: everything the relay talks to, on 127.0.0.1, for tests, demos and the bench.

- sandbox: the Telegent mPaaS API stand-in with fault injection (`telegent-sandbox`, docs/sandbox.md)
- moto_server, moto_locked: moto in server mode (SQS, DynamoDB, S3, Secrets Manager)
- ministack, deploy: the real CDK stack deployed to ministack (docs/ministack.md)
- world: the sender's AWS resources provisioned on an endpoint; esm_runner: Lambda's SQS event
  source mapping, locally; lambda_context: the context object; samples: the events/ samples
- demo, demo_local, demo_report: `make demo` and `make demo-local`
- ports, aws_env, server_process: what the servers and their clients share
"""
