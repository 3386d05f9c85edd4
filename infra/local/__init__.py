"""The infrastructure, locally: everything the relay talks to, on 127.0.0.1, for tests, demos and the bench.

- sandbox: the Telegent mPaaS API stand-in with fault injection
- moto_server, moto_locked: moto in server mode (SQS, DynamoDB, S3, Secrets Manager)
- world: the sender's AWS resources provisioned on an endpoint; esm_runner: Lambda's SQS event
  source mapping, locally; lambda_context: the context object; samples: the events/ samples
- ports, aws_env, server_process: what the servers and their clients share
"""
