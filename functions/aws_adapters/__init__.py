"""Adapters that implement the domain's ports on AWS (boto3, Powertools utilities)."""
