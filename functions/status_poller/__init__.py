"""Status poller Lambda: details lookups for SENT rows without a receipt, and the sweep (DESIGN.md section 8)."""
