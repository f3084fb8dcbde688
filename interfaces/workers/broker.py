from __future__ import annotations

import dramatiq
from dramatiq.brokers.redis import RedisBroker

from interfaces.workers.audit_middleware import AuditContextMiddleware


def redis_broker(url: str, namespace: str = "careledger") -> dramatiq.Broker:
    """The production broker: Redis, with the audit context on every message."""
    broker = RedisBroker(url=url, namespace=namespace)
    broker.add_middleware(AuditContextMiddleware())
    return broker
