"""Status events Lambda: every Status change of a row, from the table stream, onto the bus (DESIGN.md section 8)."""
