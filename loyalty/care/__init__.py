"""Owner care. So far: the notification outbox every message to an owner goes through."""
