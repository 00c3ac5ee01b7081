"""All SQL of TraceHub lives in this package; callers use its named functions."""
