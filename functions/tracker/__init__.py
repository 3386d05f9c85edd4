"""Tracker Lambda: delivery receipts and inbound messages from the status queue (DESIGN.md section 8)."""
