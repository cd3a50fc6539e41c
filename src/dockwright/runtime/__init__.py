"""Running containers: OCI specs with Docker's defaults, the runtimes, cgroups.

``spec`` builds ``config.json`` from small options; ``ociruntime.OCIRuntime``
drives any runc-compatible binary (runc, crun, or ``dockwright runtime``, the
builtin runtime in ``builtin/``); ``cgroups`` reads a container's usage and
freezes it. Nothing here is imported by ``dockwright runtime``'s start-up path
except what it needs (see ``builtin/cmd.py``).
"""
