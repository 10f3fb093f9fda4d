"""Tests of the MQTT integration against real Mosquitto."""
