"""Access control: who may pull, push or delete which repository."""
