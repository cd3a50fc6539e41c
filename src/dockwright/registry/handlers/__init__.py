"""HTTP handlers, one module per route family; each parses, calls storage, writes."""
