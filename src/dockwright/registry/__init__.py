"""The registry server (``dockwright registry serve``): OCI Distribution v1.1 over aiohttp.

``app`` wires routes, auth, errors, metrics and the access log; ``handlers``
hold one module per route family; ``storage`` keeps blobs once by digest
and per-repository links over a ``storage.driver`` (filesystem, S3,
in-memory); ``auth`` decides who may pull, push or delete; ``proxy`` turns
the registry into a pull-through cache; ``cmd`` is the command line.
"""
