"""OpenTelemetry logs over OTLP/HTTP: decode, map to native wire entries, ingest natively."""
