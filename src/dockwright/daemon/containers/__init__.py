"""Containers: records, the OCI bundle built from image + HostConfig, the service that runs them."""
