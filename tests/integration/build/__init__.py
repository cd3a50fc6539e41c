"""Build engine integration tests."""
