"""What an operator sees: log records and where they are written, request IDs
with the access log, and Prometheus metrics."""
