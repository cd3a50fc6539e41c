"""The ``dockwright`` console script: one binary, several programs.

``daemon``, ``registry`` and ``runtime`` start the server-side programs; every
other command is the client CLI. The dispatch is here rather than in ``cli``
so that the CLI never imports the daemon (and stays fast to start).
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    first = next((a for a in args if not a.startswith("-")), "")
    if first == "daemon":
        from dockwright.daemon.cmd import main as daemon_main

        return daemon_main([a for a in args if a != "daemon"])
    if first == "registry":
        from dockwright.registry.cmd import main as registry_main

        i = args.index("registry")
        return registry_main(args[i + 1 :])
    if first == "runtime":
        from dockwright.runtime.builtin.cmd import main as runtime_main

        i = args.index("runtime")
        return runtime_main(args[:i] + args[i + 1 :])
    from dockwright.cli.main import main as cli_main

    return cli_main(args)


if __name__ == "__main__":
    sys.exit(main())
