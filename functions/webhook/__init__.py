"""Webhook Lambda: Telegent route callbacks (receipts, inbound) onto the status queue (DESIGN.md section 8)."""
