"""What every Pishkhan service agrees on: events, their schemas, RPC payloads and the event-store port.

Importing `contracts` registers every event type in `contracts.events.registry`.
"""

from contracts import catalogue, content, identity, notify, partners, requests, secretariat, support, survey  # noqa: F401 - registers the event types
