"""Queue consumers: digest ingest batches into PostgreSQL (``tracehub worker``)."""
