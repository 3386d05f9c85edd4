"""Telegent SMS/MMS sender Lambda (SQS batch -> Telegent -> DynamoDB)."""
