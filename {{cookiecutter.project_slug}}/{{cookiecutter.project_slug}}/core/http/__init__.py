"""The request path inside the app: the application class and its routing,
request bodies, JSON encoding and errors, the API contract, CORS, trusted
proxies, rate limits and the requests refused before routing."""
