"""Calls to other services: the app's HTTP client and what it sends with each call."""
