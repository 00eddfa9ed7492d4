"""Contact and do-not-call imports: streaming, row by row, loud about every problem."""
