"""The speed and scale benchmark and the load test."""
