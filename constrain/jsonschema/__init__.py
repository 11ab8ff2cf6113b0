"""JSON Schema -> grammar: references, keywords, numeric ranges, formats."""
