"""Build cache: step keys, their storage in the metadata DB, and pruning."""
