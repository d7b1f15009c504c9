"""The relay: publishes integration events to RabbitMQ, partners' webhooks and the HTTP feed."""
