"""Gaps: detection, spans, autoregressive maths and the filling methods."""
