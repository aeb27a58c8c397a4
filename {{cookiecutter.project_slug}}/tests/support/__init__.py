"""Helpers for the tests: fakes, token makers and servers on loopback ports."""
