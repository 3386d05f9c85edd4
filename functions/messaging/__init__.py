"""The relay's domain: send requests, outcomes, result rows and their status lifecycle, policies, ports.

Standard library only: no boto3, botocore, urllib3 or Powertools here (adapters import this, never
the other way round).
"""
