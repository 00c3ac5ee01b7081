"""Sentry SDKs' ingestion endpoints: envelopes and the legacy store, mapped to wire entries."""
