"""Moving validated ingest batches from the API to the digest (in-process or RabbitMQ)."""

from tracehub_server.queue.base import IngestQueue, QueueUnavailable
from tracehub_server.queue.messages import IngestBatch, MessageError, decode

__all__ = ["IngestBatch", "IngestQueue", "MessageError", "QueueUnavailable", "decode"]
