"""Adapters that plug constrain into model libraries (import each one only if you have that library)."""
