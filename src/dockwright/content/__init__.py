"""Content-addressed blob store (see ``store`` for the on-disk layout and lifecycle)."""

from dockwright.content.store import BlobInfo, ContentStore, ContentWriter, IngestStatus

__all__ = ["BlobInfo", "ContentStore", "ContentWriter", "IngestStatus"]
