"""The registry client: pull, push and login over OCI distribution.

    resolver.py   reference domain -> endpoints (mirrors, insecure registries, certs.d)
    auth.py       credentials (X-Registry-Auth), WWW-Authenticate challenges, Bearer tokens, Basic
    client.py     RegistryClient: one repository on one endpoint (manifests, blobs, uploads, tags);
                  what the build cache exporter/importer reuses
    manifest.py   manifests and indexes: parse, pick a platform, build
    fetch.py      pull: layers streamed network -> content writer -> snapshot, resumable, verified
    push.py       push: skip, mount, reuse or compress once; config; manifest
    pushed.py     BlobSums: which blob a diff ID became on which registry (a JSON file)
    pipe.py       loop -> thread byte pipe with backpressure
    xfer.py       deduplicated concurrent transfers
    progress.py   dockerd's JSON progress messages

The daemon's ``DistributionService`` (``daemon/distribution.py``) wires these to the stores.
"""
