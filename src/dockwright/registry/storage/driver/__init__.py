"""Registry storage drivers: one small protocol (``base.StorageDriver``), several backends."""
