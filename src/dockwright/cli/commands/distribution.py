"""``pull``, ``push``, ``login``, ``logout``, ``search``: registry commands as the docker CLI has them."""

from __future__ import annotations

import getpass
from types import SimpleNamespace
from typing import Any, ClassVar

from dockwright.cli.commands.common import parse_filters
from dockwright.cli.commands.dockerconfig import DockerConfig, registry_auth_header, server_key
from dockwright.cli.context import Cli
from dockwright.cli.flags import CommandSpec
from dockwright.cli.flagspecs import (
    bool_flag,
    filter_flag,
    format_flag,
    int_flag,
    no_trunc_flag,
    platform_flag,
    string_flag,
)
from dockwright.cli.formatter import RowContext, or_default, render
from dockwright.cli.jsonmessage import display, raise_for_error
from dockwright.errors import InvalidParameter


def _ref(name: str) -> Any:
    from dockwright.oci.reference import ReferenceError, parse_reference

    try:
        return parse_reference(name, default_tag=False)
    except ReferenceError as exc:
        raise InvalidParameter(str(exc)) from None


def _auth_for(cli: Cli, domain: str) -> str:
    return registry_auth_header(DockerConfig(cli.env).get(domain))


def _stream(cli: Cli, method: str, path: str, params: dict[str, Any], auth: str, quiet: bool) -> list[Any]:
    aux: list[Any] = []
    tty = cli.is_tty(cli.stdout) and not quiet
    with cli.client.open(method, path, params=params, headers={"X-Registry-Auth": auth}) as resp:
        messages = resp.iter_json()
        if quiet:
            for m in messages:
                if isinstance(m, dict):
                    raise_for_error(m)
        else:
            display(messages, cli.stdout, tty=tty, on_aux=aux.append)
    return aux


# --------------------------------------------------------------------------- pull


def run_pull(cli: Cli, ns: SimpleNamespace) -> int:
    ref = _ref(ns.args[0])
    if ns.all_tags and (ref.tag or ref.digest):
        raise InvalidParameter("tag can't be used with --all-tags/-a")
    params: dict[str, Any] = {"fromImage": ref.familiar_name,
                              "tag": ref.digest or ref.tag or ("" if ns.all_tags else "latest"),
                              "platform": ns.platform or None}
    _stream(cli, "POST", "/images/create", params, _auth_for(cli, ref.domain), ns.quiet)
    if ref.tag or ref.digest or not ns.all_tags:
        cli.out(str(ref if (ref.tag or ref.digest) else ref.with_tag("latest")))
    else:
        cli.out(ref.name)
    return 0


PULL = CommandSpec(
    name="image pull",
    usage="[OPTIONS] NAME[:TAG|@DIGEST]",
    short="Download an image from a registry",
    run=run_pull,
    aliases=["pull"],
    min_args=1,
    max_args=1,
    flags=[
        bool_flag("all-tags", "Download all tagged images in the repository", short="a"),
        bool_flag("disable-content-trust", "Skip image verification", default=True),
        platform_flag(),
        bool_flag("quiet", "Suppress verbose output", short="q"),
    ],
)

# --------------------------------------------------------------------------- push


def run_push(cli: Cli, ns: SimpleNamespace) -> int:
    ref = _ref(ns.args[0])
    if ref.digest:
        raise InvalidParameter("cannot push a digest reference")
    if ns.all_tags and ref.tag:
        raise InvalidParameter("tag can't be used with --all-tags/-a")
    tag = ref.tag or ("" if ns.all_tags else "latest")
    if not ns.all_tags and not ref.tag:
        cli.out(f"Using default tag: {tag}")
    from dockwright.client.api import quote_name

    path = f"/images/{quote_name(ref.familiar_name)}/push"
    params: dict[str, Any] = {"tag": tag or None}
    if ns.platform:
        params["platform"] = ns.platform
    _stream(cli, "POST", path, params, _auth_for(cli, ref.domain), ns.quiet)
    if ns.quiet:
        cli.out(str(ref if ref.tag else ref.with_tag(tag or "latest")))
    return 0


PUSH = CommandSpec(
    name="image push",
    usage="[OPTIONS] NAME[:TAG]",
    short="Upload an image to a registry",
    run=run_push,
    aliases=["push"],
    min_args=1,
    max_args=1,
    flags=[
        bool_flag("all-tags", "Push all tags of an image to the repository", short="a"),
        bool_flag("disable-content-trust", "Skip image signing", default=True),
        platform_flag("Push a platform-specific manifest", hidden=True),
        bool_flag("quiet", "Suppress verbose output", short="q"),
    ],
)

# --------------------------------------------------------------------------- login / logout


def run_login(cli: Cli, ns: SimpleNamespace) -> int:
    server = ns.args[0] if ns.args else "https://index.docker.io/v1/"
    username, password = ns.username or "", ns.password or ""
    if ns.password and ns.password_stdin:
        raise InvalidParameter("--password and --password-stdin are mutually exclusive")
    if ns.password_stdin:
        if not username:
            raise InvalidParameter("Must provide --username with --password-stdin")
        password = cli.stdin.read().rstrip("\r\n")
    elif ns.password:
        cli.err("WARNING! Using --password via the CLI is insecure. Use --password-stdin.")
    cfg = DockerConfig(cli.env)
    if not username and not password:
        stored = cfg.get(server)
        if stored.get("username") or stored.get("identitytoken"):
            username, password = stored.get("username", ""), stored.get("password", "")
    if not username:
        if not cli.is_tty(cli.stdin):
            raise InvalidParameter("Cannot perform an interactive login from a non TTY device")
        cli.stdout.write("Username: ")
        cli.stdout.flush()
        username = cli.stdin.readline().strip()
    if not password:
        if not cli.is_tty(cli.stdin):
            raise InvalidParameter("Cannot perform an interactive login from a non TTY device")
        password = getpass.getpass("Password: ")
    if not username or not password:
        raise InvalidParameter("Error: Non-null Username and Password Required")
    body = {"username": username, "password": password, "serveraddress": server_key(server)}
    result = cli.client.post_json("/auth", json_body=body)
    token = str((result or {}).get("IdentityToken") or "")
    cfg.store(server, username, password, token)
    cli.out(str((result or {}).get("Status") or "Login Succeeded"))
    return 0


LOGIN = CommandSpec(
    name="login",
    usage="[OPTIONS] [SERVER]",
    short="Log in to a registry",
    run=run_login,
    max_args=1,
    flags=[
        string_flag("password", "Password", short="p"),
        bool_flag("password-stdin", "Take the password from stdin"),
        string_flag("username", "Username", short="u"),
    ],
)


def run_logout(cli: Cli, ns: SimpleNamespace) -> int:
    server = ns.args[0] if ns.args else "https://index.docker.io/v1/"
    key = server_key(server)
    cfg = DockerConfig(cli.env)
    if cfg.erase(server):
        cli.out(f"Removing login credentials for {key}")
    else:
        cli.out(f"Not logged in to {key}")
    return 0


LOGOUT = CommandSpec(
    name="logout",
    usage="[SERVER]",
    short="Log out from a registry",
    run=run_logout,
    max_args=1,
)

# --------------------------------------------------------------------------- search


class SearchRow(RowContext):
    FIELDS: ClassVar[dict[str, str]] = {
        "Name": "NAME",
        "Description": "DESCRIPTION",
        "StarCount": "STARS",
        "IsOfficial": "OFFICIAL",
        "IsAutomated": "AUTOMATED",
    }

    def __init__(self, result: dict[str, Any], trunc: bool) -> None:
        self.r = result
        self.trunc = trunc

    def Name(self) -> str:
        return str(self.r.get("name", ""))

    def Description(self) -> str:
        desc = str(self.r.get("description") or "").replace("\n", " ").replace("\r", " ")
        return desc[:SEARCH_DESC_WIDTH - 1] + "…" if self.trunc and len(desc) > SEARCH_DESC_WIDTH else desc

    def StarCount(self) -> str:
        return str(int(self.r.get("star_count") or 0))

    def IsOfficial(self) -> str:
        return "[OK]" if self.r.get("is_official") else ""

    def IsAutomated(self) -> str:
        return "[OK]" if self.r.get("is_automated") else ""


SEARCH_DESC_WIDTH = 45
SEARCH_TABLE = "table {{.Name}}\t{{.Description}}\t{{.StarCount}}\t{{.IsOfficial}}"


def run_search(cli: Cli, ns: SimpleNamespace) -> int:
    term = ns.args[0]
    first, sep, _ = term.partition("/")
    domain = first if sep and ("." in first or ":" in first or first == "localhost") else "docker.io"
    params: dict[str, Any] = {"term": term}
    if ns.limit:
        params["limit"] = ns.limit
    filters = parse_filters(ns.filter, SEARCH)
    if filters:
        params["filters"] = filters
    results = cli.client.get_json("/images/search", params=params,
                                  headers={"X-Registry-Auth": _auth_for(cli, domain)}) or []
    rows = [SearchRow(r, not ns.no_trunc) for r in results]
    cli.stdout.write(render(rows, or_default(ns.format or "", SEARCH_TABLE), SearchRow.FIELDS))
    return 0


SEARCH = CommandSpec(
    name="search",
    usage="[OPTIONS] TERM",
    short="Search Docker Hub for images",
    run=run_search,
    min_args=1,
    max_args=1,
    flags=[
        filter_flag("Filter output based on conditions provided"),
        format_flag("Pretty-print search using a Go template"),
        int_flag("limit", "Max number of search results"),
        no_trunc_flag(),
    ],
)
