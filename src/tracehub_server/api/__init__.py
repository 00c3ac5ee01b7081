"""HTTP API: ingestion, health, metrics, and the JSON query API."""
