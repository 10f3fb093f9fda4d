"""Tests of the integrations under `integrations/`."""
