"""Registers the server fixtures of tests/servers.py for the whole suite."""

pytest_plugins = ["tests.servers"]
