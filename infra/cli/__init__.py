"""`telegent-sms`, the operator CLI (DESIGN.md section 12).

Tooling for the people who run the stack: it lives beside the CDK app, never in the Lambda
asset (functions/). It reuses the sender's own domain code (parsing, names, lifecycle) so that
what it validates and writes matches what the sender does.
"""
