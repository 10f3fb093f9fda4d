"""nvr-hub: a network video recorder and home-automation hub."""

__version__ = "0.1.0"
