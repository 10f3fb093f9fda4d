"""Adapters to outside systems, loaded by `nvr_hub.app` through the Integration protocol."""
