"""The published folder over HTTP: files, health, status, metrics, the server."""
