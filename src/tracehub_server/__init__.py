"""TraceHub server: ingestion API, queue, workers, storage and dashboard."""
