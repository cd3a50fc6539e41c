"""One module per command group; each exposes ``CommandSpec`` constants that ``cli.main`` looks up."""
