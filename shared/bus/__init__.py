"""The bus: transactional outbox and relay, idempotent consumers with an inbox, dead letters."""

from shared.bus.consumer import EventConsumer, Handlers, PermanentError
from shared.bus.outbox import Outbox, Tx
from shared.bus.relay import OutboxRelay
from shared.bus.tables import BusTables, add_bus_tables

__all__ = [
    "BusTables",
    "EventConsumer",
    "Handlers",
    "Outbox",
    "OutboxRelay",
    "PermanentError",
    "Tx",
    "add_bus_tables",
]
