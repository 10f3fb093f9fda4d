"""Core services: the logic between the HTTP edge and storage/media."""
