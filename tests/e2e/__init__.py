"""End-to-end tests: real servers in every shape, one folder a feature."""
