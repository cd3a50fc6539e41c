"""Registry storage: the disk layout (``paths``), blobs and links, uploads, manifests, tags, GC."""
