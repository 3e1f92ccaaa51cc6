"""Webhooks: endpoints a platform registers, an outbox written with the events, and their delivery."""
