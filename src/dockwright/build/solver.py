"""The build: Dockerfile stages as a DAG of steps, each cached by key, run concurrently where
stages are independent, with the legacy builder's JSON stream as output.

A stage's output goes to the client live when it is the earliest unfinished
stage and is buffered otherwise, so concurrent stages still read in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, cast

from dockwright.build import copyfiles, exporter, gitsource, heredoc, runmounts, stepvolumes, urlsource
from dockwright.build.cache import remote
from dockwright.build.cache.keys import files_digest, normalise, step_key
from dockwright.build.cache.store import BuildCacheStore, StepRecord
from dockwright.build.context.dockerignore import Matcher, go_clean
from dockwright.build.context.tarctx import TarContext
from dockwright.build.dockerfile import instructions as I
from dockwright.build.dockerfile.errors import DockerfileError
from dockwright.build.dockerfile.expand import (
    ExpandedCommand,
    expand_stage,
    exposed_ports,
    meta_env,
    resolve_meta_args,
    unused_build_args,
    unused_build_args_warning,
)
from dockwright.build.dockerfile.parser import parse
from dockwright.build.dockerfile.stages import resolve_stage_ref, target_stages
from dockwright.build.explain import StepExplanation, explain_miss, step_line
from dockwright.build.lint import lint
from dockwright.build.runstep import RunFailed, RunRequest, env_for_run, run_container, shell_argv
from dockwright.build.secrets import Secrets
from dockwright.errors import AlreadyExists, DockwrightError, InvalidParameter, NotFound
from dockwright.images.model import LayerRecord
from dockwright.images.unpack import chain_of, commit_or_drop, ensure_unpacked
from dockwright.oci import mediatypes
from dockwright.snapshots.mount import mount_all, unmount

Emit = Callable[[dict[str, Any]], Awaitable[None]]
_EMPTY_KEY = "sha256:" + "0" * 64
_DRY_LAYER = "sha256:" + "d" * 64


@dataclass
class BuildOptions:
    tags: list[str] = field(default_factory=list)
    dockerfile: str = "Dockerfile"
    build_args: dict[str, str] = field(default_factory=dict)
    target: str = ""
    nocache: bool = False
    no_cache_filter: list[str] = field(default_factory=list)
    cache_from: list[str] = field(default_factory=list)
    cache_to: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    network: str = "default"
    extra_hosts: list[str] = field(default_factory=list)
    shm_size: int = 0
    memory: int = 0
    quiet: bool = False
    explain: bool = False
    pull: bool = False
    registry_auth: dict[str, Any] = field(default_factory=dict)  # X-Registry-Config
    secrets: Secrets = field(default_factory=Secrets)  # X-Dockwright-Build-Secrets (RUN --mount=type=secret)


@dataclass
class State:
    cfg: dict[str, Any]
    image_id: str
    layers: list[LayerRecord]
    key: str
    ran: bool = False  # the last step was executed, not taken from the cache
    lazy: bool = False  # from an imported cache: some layers may not be downloaded yet

    @property
    def chain(self) -> str:
        return self.layers[-1].chain_id if self.layers else ""


class Engine:
    """What the builder needs from the daemon, narrowed."""

    def __init__(self, daemon: Any) -> None:
        self.d = daemon
        self.cache = BuildCacheStore(daemon.db)

    def runtime(self) -> list[str]:
        cmds: dict[str, list[str]] = self.d.runtime_commands()
        name = getattr(self.d.config, "default_runtime", "") or "runc"
        return cmds.get(name) or cmds.get("runc") or cmds["dockwright"]

    async def network_setup(self, mode: str, ns_path: Path) -> Callable[[], Awaitable[None]]:
        from dockwright.network import netns

        await asyncio.to_thread(netns.create, ns_path)
        nets = getattr(self.d, "networks", None)
        bridge = getattr(nets, "bridge", None) if nets is not None else None
        step = ns_path.parent.name
        if mode != "none" and bridge is not None:
            await asyncio.to_thread(bridge.connect, step, str(ns_path))

            async def teardown() -> None:
                with contextlib.suppress(DockwrightError, OSError):
                    await asyncio.to_thread(bridge.disconnect, step)
                with contextlib.suppress(DockwrightError, OSError):
                    await asyncio.to_thread(netns.delete, ns_path)
            return teardown
        await asyncio.to_thread(netns.loopback_only, str(ns_path))

        async def teardown_lo() -> None:
            with contextlib.suppress(DockwrightError, OSError):
                await asyncio.to_thread(netns.delete, ns_path)
        return teardown_lo


class _Writer:
    def __init__(self, w: Any) -> None:
        self.w = w

    def write(self, data: bytes) -> int:
        self.w.write(bytes(data))
        return len(data)


class Mux:
    """Stage outputs in stage order: the head stage streams, later ones buffer until it ends."""

    def __init__(self, emit: Emit, order: list[int]) -> None:
        self.emit = emit
        self.order = list(order)
        self.buf: dict[int, list[dict[str, Any]]] = {i: [] for i in order}
        self.done: set[int] = set()

    async def send(self, stage: int, msg: dict[str, Any]) -> None:
        if self.order and self.order[0] == stage:
            await self.emit(msg)
        else:
            self.buf.setdefault(stage, []).append(msg)

    async def finish(self, stage: int) -> None:
        self.done.add(stage)
        while self.order and self.order[0] in self.done:
            self.order.pop(0)
            if self.order:
                for m in self.buf.pop(self.order[0], []):
                    await self.emit(m)


class Build:
    def __init__(self, engine: Engine, ctx: TarContext, matcher: Matcher, text: str, dockerfile: str,
                 opts: BuildOptions, lease: Any) -> None:
        self.e = engine
        self.d = engine.d
        self.ctx = ctx
        self.tree = copyfiles.TarTree(ctx)
        self.matcher = matcher
        self.opts = opts
        self.lease = lease
        self.filename = dockerfile
        self.work = Path(self.d.root) / "tmp" / f"build-{uuid.uuid4().hex[:12]}"
        result = parse(text, dockerfile)
        self.escape = result.escape
        self.stages, self.meta_args = I.parse_instructions(result)
        if not self.stages:
            raise DockerfileError("file with no instructions", filename=dockerfile)
        self.meta = resolve_meta_args(self.meta_args, opts.build_args)
        self.order = target_stages(self.stages, opts.target, meta_env(self.meta), self.escape)
        self.order.sort()
        if opts.labels:
            last = self.stages[self.order[-1]]
            label = I.LabelCommand(name="LABEL", location=(dockerfile, 0, 0),
                                   original="LABEL " + " ".join(f"{k}={v}" for k, v in opts.labels.items()),
                                   labels=tuple(I.KeyValuePair(k, v) for k, v in sorted(opts.labels.items())))
            self.stages[last.index] = I.Stage(last.name, last.base_name, last.platform, (*last.commands, label),
                                              last.location, last.original, last.index, last.comment)
        self.total = len(self.meta_args) + sum(1 + len(self.stages[i].commands) for i in self.order)
        starts: dict[int, int] = {}
        n = len(self.meta_args) + 1
        for i in self.order:
            starts[i] = n
            n += 1 + len(self.stages[i].commands)
        self.step_start = starts
        self.results: dict[int, asyncio.Future[State]] = {}
        self.explanations: list[StepExplanation] = []
        self.warnings = lint([self.stages[i] for i in self.order])
        self.expanded_args: list[Any] = []
        self.remote = remote.RemoteCache(self.d, lease, self._auth_for)
        self.remote_from = [c for c in (remote.parse_spec(x) for x in opts.cache_from) if c is not None]
        self.remote_to = [c for c in (remote.parse_spec(x) for x in opts.cache_to) if c is not None]
        self.exported: dict[int, list[remote.ExportStep]] = {}
        self.aliases: dict[str, str] = {}  # step key -> its COPY --from alias (see remote.ExportStep)
        self.git_pending: dict[str, gitsource.Resolved] = {}  # step key -> ADD <git> to clone on a miss

    # -- checks before any output ------------------------------------------------------------
    def precheck(self) -> None:
        """Context sources must exist and stay inside the context; found before the stream starts."""
        for i in self.order:
            stage = self.stages[i]
            try:
                exp = expand_stage(stage, self.opts.build_args, self.meta, escape=self.escape)
            except DockerfileError:
                raise
            except DockwrightError:
                continue
            for ec in exp.commands:
                cmd = ec.command
                if isinstance(cmd, (I.CopyCommand, I.AddCommand)) and not getattr(cmd, "from_", ""):
                    srcs = [s for s in cmd.paths.sources
                            if not (isinstance(cmd, I.AddCommand) and I.add_source_kind(s) != "local")]
                    try:
                        copyfiles.select(self.tree, srcs, self.matcher)
                    except (NotFound, InvalidParameter) as exc:
                        raise self._err(cmd, str(exc)) from None
                elif isinstance(cmd, I.RunCommand) and cmd.mounts:
                    runmounts.check(cmd, self._mount_sources(cmd))

    def _err(self, cmd: I.Command, msg: str) -> DockerfileError:
        return DockerfileError(f"{cmd.name} failed: {msg}", filename=cmd.location[0], start_line=cmd.location[1],
                               instruction=cmd.name)

    # -- running ------------------------------------------------------------------------------
    async def run(self, emit: Emit) -> str:
        await asyncio.to_thread(self.work.mkdir, parents=True, exist_ok=True)
        try:
            return await self._run(emit)
        finally:
            await asyncio.to_thread(_rmtree_unmounted, self.work)

    async def _run(self, emit: Emit) -> str:
        for w in self.warnings:
            await emit({"stream": f"[lint] {w}\n"})
        for n, arg in enumerate(self.meta_args, start=1):
            await emit({"stream": f"Step {n}/{self.total} : {arg.original.strip()}"})
            await emit({"stream": "\n"})
        for spec in self.remote_from:
            if spec.type in ("registry", "s3"):
                await self.remote.load(spec, lambda m: emit({"stream": m}))
        for name in self.opts.cache_from:
            if remote.parse_spec(name) is None and await asyncio.to_thread(self._load_inline, name):
                await emit({"stream": f"importing inline cache from {name}\n"})
        mux = Mux(emit, self.order)
        loop = asyncio.get_running_loop()
        for i in self.order:
            self.results[i] = loop.create_future()
        tasks = [asyncio.create_task(self._stage(i, mux)) for i in self.order]
        try:
            await asyncio.gather(*tasks)
        except BaseException:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        final = self.results[self.order[-1]].result()
        expanded_stages = self.expanded_args
        unused = [a for a in unused_build_args(self.opts.build_args, self.meta_args, expanded_stages)
                  if a != "BUILDKIT_INLINE_CACHE"]  # consumed by the cache exporter
        if unused:
            await emit({"stream": unused_build_args_warning(unused) + "\n"})
        await self.remote.fetch(final.layers)
        await self.remote.keep_hits(self.e.cache)
        if self.remote.imports:
            n = self.remote.fetch_count
            await emit({"stream": f"imported cache: downloaded {n} layer blob{'s' if n != 1 else ''}\n"})
        if any(spec.type == "inline" for spec in self.remote_to):
            final = State(dict(final.cfg), final.image_id, final.layers, final.key)
            final.cfg[remote.INLINE_KEY] = await remote.inline_value(self.exported.get(self.order[-1], []))
        image_id = await asyncio.to_thread(self._export, final)
        self.explanations.sort(key=lambda e: e.step)
        for spec in self.remote_to:
            if spec.type in ("registry", "s3"):
                stages = self.order if spec.mode == "max" else self.order[-1:]
                steps = [s for i in stages for s in self.exported.get(i, [])]
                await self.remote.export(spec, steps, lambda m: emit({"stream": m}))
        return image_id

    async def _stage(self, index: int, mux: Mux) -> None:
        fut = self.results[index]
        try:
            state = await self._stage_body(index, mux)
        except BaseException as exc:
            if not fut.done():
                fut.set_exception(exc)
                fut.exception()  # retrieved: the gather reports it
            raise
        finally:
            await mux.finish(index)
        fut.set_result(state)

    async def _stage_body(self, index: int, mux: Mux) -> State:
        stage = self.stages[index]
        step = self.step_start[index]

        async def out(msg: str) -> None:
            await mux.send(index, {"stream": msg})

        base_name = _expand_from(stage.base_name, self.meta, self.escape)
        await out(f"Step {step}/{self.total} : {stage.original.strip() or 'FROM ' + stage.base_name}")
        await out("\n")
        ref = resolve_stage_ref(self.stages, base_name, allow_index=False)
        if ref is not None and ref != index:
            parent = await self.results[ref]
            state = State(parent.cfg, parent.image_id, list(parent.layers), parent.key)
        elif base_name.lower() == "scratch":
            cfg = exporter.scratch_config()
            state = State(cfg, "", [], _EMPTY_KEY)
        else:
            state = await self._base_or_pull(base_name, stage, index, mux)
        await out(f" ---> {_short(state.image_id) if state.image_id else 'scratch'}\n")
        triggers = list((state.cfg.get("config") or {}).get("OnBuild") or [])
        commands = list(stage.commands)
        if triggers:
            await out(f"# Executing {len(triggers)} build trigger{'s' if len(triggers) > 1 else ''}\n")
            commands = [*I.parse_onbuild_triggers(triggers, base_name), *commands]
            state.cfg["config"]["OnBuild"] = None
        run_stage = I.Stage(stage.name, stage.base_name, stage.platform, tuple(commands), stage.location,
                            stage.original, stage.index, stage.comment)
        env = {k: v for k, _, v in (e.partition("=") for e in state.cfg["config"].get("Env") or [])}
        expanded = expand_stage(run_stage, self.opts.build_args, self.meta, base_env=env, escape=self.escape)
        self.expanded_args.append(expanded)
        shell = list(state.cfg["config"].get("Shell") or ["/bin/sh", "-c"])
        cmd_set = False
        n_trig = len(triggers)
        for pos, ec in enumerate(expanded.commands):
            num = step + 1 + max(0, pos - n_trig)
            if pos >= n_trig:
                await out(f"Step {num}/{self.total} : {ec.command.original.strip()}")
                await out("\n")
            t0 = time.monotonic()
            parent_key = state.key
            state, expl, shell, cmd_set = await self._step(index, ec, state, shell, cmd_set, out)
            self.exported.setdefault(index, []).append(
                remote.ExportStep(state.key, parent_key, state.cfg, list(state.layers),
                                  self.aliases.get(state.key, "")))
            expl.step = num
            expl.seconds = round(time.monotonic() - t0, 3)
            self.explanations.append(expl)
            if state.image_id and not state.lazy:
                await asyncio.to_thread(self._record_image, state, [])
            await out(f" ---> {_short(state.image_id)}\n")
            await out(step_line(expl))
        return state

    async def _base_or_pull(self, name: str, stage: I.Stage, index: int, mux: Mux) -> State:
        """The base image, pulled first when missing (or with ``pull``), as dockerd's builder does."""
        dist = getattr(self.d, "distribution", None)
        missing = False
        try:
            await asyncio.to_thread(self.d.image_store.get, name)
        except NotFound:
            missing = True
        if (missing or self.opts.pull) and dist is not None:
            async def progress(msg: dict[str, Any]) -> None:
                await mux.send(index, msg)
            try:
                await dist.pull_stream(name, "", "", self._auth_for(name), progress)
            except DockwrightError as exc:
                if missing:
                    raise DockerfileError(str(exc), filename=stage.location[0], start_line=stage.location[1],
                                          instruction="FROM") from None
        return await asyncio.to_thread(self._base_image, name, stage)

    def _auth_for(self, name: str) -> str | None:
        import base64

        from dockwright.oci.reference import parse_reference

        try:
            domain = parse_reference(name).domain
        except DockwrightError:
            return None
        keys = {domain, f"https://{domain}", "https://index.docker.io/v1/" if domain == "docker.io" else domain}
        for k, v in self.opts.registry_auth.items():
            if k in keys or k.rstrip("/") in keys:
                return base64.urlsafe_b64encode(json.dumps(v).encode()).decode()
        return None

    def _base_image(self, name: str, stage: I.Stage) -> State:
        try:
            rec = self.d.image_store.get(name)
        except NotFound:
            raise DockerfileError(
                f"pull access denied for {name}: the image is not present; pull it first (docker pull {name})",
                filename=stage.location[0], start_line=stage.location[1], instruction="FROM") from None
        cfg = exporter.base_config(rec.config_bytes)
        return State(cfg, rec.id, list(rec.layers), rec.id)

    # -- one instruction ----------------------------------------------------------------------
    async def _step(self, index: int, ec: ExpandedCommand, state: State, shell: list[str], cmd_set: bool,
                    out: Callable[[str], Awaitable[None]]) -> tuple[State, StepExplanation, list[str], bool]:
        cmd = ec.command
        run_cfg = dict(state.cfg["config"])
        files: dict[str, str] = {}
        inputs = ""
        sources: list[copyfiles.Source] = []
        tree: copyfiles.Tree = self.tree
        cleanup: list[Callable[[], None]] = []
        stage = self.stages[index]
        alias = ""
        git: gitsource.Resolved | None = None
        try:
            if isinstance(cmd, (I.CopyCommand, I.AddCommand)):
                from_ = getattr(cmd, "from_", "")
                srcs = list(cmd.paths.sources)
                kinds = {I.add_source_kind(s) for s in srcs} if isinstance(cmd, I.AddCommand) else {"local"}
                if "git" in kinds:
                    git = await self._git_resolve(cast(I.AddCommand, cmd), srcs)
                if isinstance(cmd, I.AddCommand) and cmd.checksum and kinds != {"url"}:
                    raise self._err(cmd, "checksum can't be specified for non-HTTP(S) sources")
                if len(kinds) > 1 or (cmd.paths.contents and srcs):
                    raise self._err(cmd, "mixing URL, heredoc and context sources in one instruction is not "
                                         "supported; split it into one instruction per kind")
                owner = await self._owner(cmd.chown, state) if cmd.chown else None
                chmod = int(cmd.chmod, 8) if cmd.chmod else None
                matcher: Matcher | None = self.matcher
                if from_:
                    alias, alias_hit = await self._copy_from_alias(from_, cmd, ec, state, stage.name)
                    if alias_hit is not None:
                        await out(" ---> Using cache\n")
                        new_shell, new_cmd_set = _shell_after(cmd, shell, cmd_set)
                        return alias_hit[0], alias_hit[1], new_shell, new_cmd_set
                    from_root, src_key = await self._from_root(from_, cmd, cleanup)
                    tree, matcher = copyfiles.DirTree(from_root), None
                    inputs = src_key
                elif cmd.paths.contents:
                    tree, matcher = heredoc.MemTree(cmd.paths.contents), None
                    srcs = [c.path for c in cmd.paths.contents]
                elif kinds == {"url"}:
                    tree, srcs = await self._fetch_urls(cast(I.AddCommand, cmd), srcs, cleanup, out)
                    matcher = None
                elif git is not None:  # cloned only on a miss (_exec): the key is the commit
                    srcs, matcher, inputs = [], None, git.cache_input()
                try:
                    sources = await asyncio.to_thread(copyfiles.select, tree, srcs, matcher)
                    files = await asyncio.to_thread(copyfiles.digest, tree, sources, matcher, owner, chmod)
                except (NotFound, InvalidParameter) as exc:
                    if isinstance(exc, DockerfileError):
                        raise
                    raise self._err(cmd, str(exc)) from None
                inputs = files_digest(files) + inputs
            elif isinstance(cmd, I.RunCommand) and any(m.type == "bind" for m in cmd.mounts):
                files, inputs = await runmounts.key_inputs(cmd, str(run_cfg.get("WorkingDir") or "/"),
                                                           self._mount_sources(cmd))
            key_args = dict(ec.cache_args)
            op_data: dict[str, Any] = normalise(cmd)
            if isinstance(cmd, I.ArgCommand):
                # the values come from --build-arg: keep them in the args so a miss names the arg
                key_args.update({kv.key: kv.value or "" for kv in cmd.args})
                op_data = {"name": "ARG", "original": cmd.original.strip()}
            key = step_key(state.key, op_data, key_args, inputs)
            if git is not None:
                self.git_pending[key] = git
            if alias:
                self.aliases[key] = alias
            op = json.dumps(op_data, sort_keys=True, default=str)
            forced = ""
            if self.opts.nocache:
                forced = "--no-cache"
            elif stage.name and stage.name in self.opts.no_cache_filter:
                forced = f"--no-cache-filter {stage.name}"
            loc = f"{cmd.location[0]}:{cmd.location[1]}"
            expl = StepExplanation(0, cmd.original.strip(), loc, True, "cached")
            if not forced:
                hit = await asyncio.to_thread(self._lookup, key)
                if hit is not None:
                    await out(" ---> Using cache\n")
                    new_shell, new_cmd_set = _shell_after(cmd, shell, cmd_set)
                    return hit, expl, new_shell, new_cmd_set
                found_remote = self.remote.lookup(key)
                if found_remote is not None:
                    rcfg, rlayers = found_remote
                    self.remote.adopt(StepRecord(key, state.key, rlayers[-1].chain_id if rlayers else "",
                                                 exporter_bytes(rcfg), op, key_args, files, time.time()),
                                      rlayers, len(state.layers), cmd.original.strip())
                    await out(" ---> Using cache\n")
                    expl = StepExplanation(0, cmd.original.strip(), loc, True, "cached (imported cache)")
                    new_shell, new_cmd_set = _shell_after(cmd, shell, cmd_set)
                    return (State(rcfg, exporter.image_id(rcfg), rlayers, key, lazy=True), expl, new_shell,
                            new_cmd_set)
            if state.lazy:
                await self.remote.ensure(state.layers)
            siblings = await asyncio.to_thread(self.e.cache.siblings, state.key)
            reason, cf, ca = explain_miss(siblings, op, key_args, files, parent_ran=state.ran,
                                          forced=forced)
            expl = StepExplanation(0, cmd.original.strip(), loc, False, reason, cf, ca)
            prev = _closest(siblings, op, files)
            if self.opts.cache_from and not forced:
                planned, _, _ = await self._exec(ec, state, dict(run_cfg), shell, cmd_set, tree, sources, files, out,
                                                 key, prev, dry=True)
                found = await asyncio.to_thread(self._cache_from, state, planned)
                if found is not None:
                    new, image = found
                    await out(" ---> Using cache\n")
                    rec = StepRecord(key, state.key, new.chain, exporter_bytes(new.cfg), op, key_args, files,
                                     time.time())
                    size = new.layers[-1].size if len(new.layers) > len(state.layers) else 0
                    await asyncio.to_thread(self.e.cache.put, rec, size=size, description=cmd.original.strip())
                    expl = StepExplanation(0, cmd.original.strip(), loc, True, f"cached (--cache-from {image})")
                    new_shell, new_cmd_set = _shell_after(cmd, shell, cmd_set)
                    return new, expl, new_shell, new_cmd_set
            new, shell, cmd_set = await self._exec(ec, state, run_cfg, shell, cmd_set, tree, sources, files, out,
                                                   key, prev)
            size = new.layers[-1].size if len(new.layers) > len(state.layers) else 0
            rec = StepRecord(key, state.key, new.chain, exporter_bytes(new.cfg), op, key_args, files,
                             time.time())
            await asyncio.to_thread(self.e.cache.put, rec, size=size, description=cmd.original.strip())
            return new, expl, shell, cmd_set
        finally:
            for fn in reversed(cleanup):
                await asyncio.to_thread(fn)

    async def _fetch_urls(self, cmd: I.AddCommand, urls: list[str], cleanup: list[Callable[[], None]],
                          out: Callable[[str], Awaitable[None]]) -> tuple[copyfiles.Tree, list[str]]:
        """Each URL into its own numbered dir, so two files of the same name do not collide."""
        import shutil

        base = self.work / f"url-{uuid.uuid4().hex[:12]}"
        await asyncio.to_thread(base.mkdir, parents=True)
        cleanup.append(lambda: shutil.rmtree(base, ignore_errors=True))
        names = []
        for n, url in enumerate(urls):
            into = base / str(n)
            await asyncio.to_thread(into.mkdir)
            await out(f"Downloading {url}\n")
            try:
                names.append(f"{n}/" + await urlsource.fetch(url, into, cmd.checksum))
            except InvalidParameter as exc:
                raise self._err(cmd, str(exc)) from None
        return copyfiles.DirTree(base), names

    def _lookup(self, key: str) -> State | None:
        rec = self.e.cache.get(key)
        if rec is None:
            return None
        layers: list[LayerRecord] = []
        chain = rec.chain_id
        while chain:
            layer = self.d.image_store.layer(chain)
            if layer is None:
                return None
            layers.append(layer)
            chain = layer.parent
        layers.reverse()
        if rec.chain_id:
            self.lease.snapshots.add(rec.chain_id)
        self.e.cache.touch(key)
        cfg = json.loads(rec.config)
        return State(cfg, exporter.image_id(cfg), layers, key)

    async def _owner(self, chown: str, state: State) -> copyfiles.Owner:
        if state.lazy:
            await self.remote.ensure(state.layers)
        user, _, group = chown.partition(":")
        if user.isdigit() and (not group or group.isdigit()):
            return copyfiles.Owner(int(user), int(group or user))
        from dockwright.runtime.user import resolve_user

        async def lookup(root: Path) -> copyfiles.Owner:
            u = await asyncio.to_thread(resolve_user, root, chown)
            return copyfiles.Owner(u[0], u[1])

        cleanup: list[Callable[[], None]] = []
        try:
            root = await self._mount_view(state.chain, cleanup)
            return await lookup(root)
        finally:
            for fn in reversed(cleanup):
                await asyncio.to_thread(fn)

    async def _mount_view(self, chain: str, cleanup: list[Callable[[], None]]) -> Path:
        sn = self.d.snapshotter
        target = self.work / f"view-{uuid.uuid4().hex[:8]}"
        await asyncio.to_thread(target.mkdir, parents=True)
        if not chain:
            cleanup.append(lambda: _rmdir(target))
            return target
        key = f"extract-buildview-{uuid.uuid4().hex}"
        await asyncio.to_thread(ensure_unpacked, self.d.image_store, self.d.content, sn, chain)
        mounts = await asyncio.to_thread(sn.view, key, chain)
        cleanup.append(lambda: _quiet(sn.remove, key))
        cleanup.append(lambda: _rmdir(target))
        await asyncio.to_thread(mount_all, mounts, target)
        cleanup.append(lambda: _quiet(unmount, target))
        return target

    async def _copy_from_alias(self, from_: str, cmd: I.Command, ec: ExpandedCommand, state: State,
                               stage_name: str) -> tuple[str, tuple[State, StepExplanation] | None]:
        """COPY --from a stage: the stage's key fixes its files, so the step can also be keyed by it.
        When that stage came from an imported cache, this finds the step without downloading it."""
        try:
            ref = resolve_stage_ref(self.stages, from_, allow_index=True)
        except InvalidParameter:
            return "", None
        if ref is None:
            return "", None
        src = await self.results[ref]
        alias = step_key(state.key, normalise(cmd), dict(ec.cache_args), "from-stage:" + src.key)
        if not src.lazy or self.opts.nocache or (stage_name and stage_name in self.opts.no_cache_filter):
            return alias, None
        found = self.remote.lookup_alias(alias)
        if found is None:
            return alias, None
        key, cfg, layers = found
        self.remote.adopt(StepRecord(key, state.key, layers[-1].chain_id if layers else "", exporter_bytes(cfg),
                                     json.dumps(normalise(cmd), sort_keys=True, default=str),
                                     dict(ec.cache_args), {}, time.time()),
                          layers, len(state.layers), cmd.original.strip())
        expl = StepExplanation(0, cmd.original.strip(), f"{cmd.location[0]}:{cmd.location[1]}", True,
                               "cached (imported cache)")
        return alias, (State(cfg, exporter.image_id(cfg), layers, key, lazy=True), expl)

    async def _from_root(self, from_: str, cmd: I.Command, cleanup: list[Callable[[], None]]) -> tuple[Path, str]:
        try:
            ref = resolve_stage_ref(self.stages, from_, allow_index=True)
        except InvalidParameter as exc:
            raise self._err(cmd, str(exc)) from None
        if ref is not None:
            src = await self.results[ref]
            if src.lazy:
                await self.remote.ensure(src.layers)
            chain, key = src.chain, src.key
        else:
            try:
                rec = await asyncio.to_thread(self.d.image_store.get, from_)
            except NotFound:
                raise self._err(cmd, f"no stage or image named {from_!r}: pull the image first") from None
            chain, key = (rec.layers[-1].chain_id if rec.layers else ""), rec.id
        return await self._mount_view(chain, cleanup), key

    async def _exec(self, ec: ExpandedCommand, state: State, run: dict[str, Any], shell: list[str], cmd_set: bool,
                    tree: copyfiles.Tree, sources: list[copyfiles.Source], files: dict[str, str],
                    out: Callable[[str], Awaitable[None]], key: str,
                    prev: StepRecord | None, *, dry: bool = False) -> tuple[State, list[str], bool]:
        """Run one instruction; ``dry`` only computes the config it would produce (a layer shows as a
        placeholder diff ID), which is what ``--cache-from`` compares image histories with."""
        cmd = ec.command
        new_shell, new_cmd_set = _shell_after(cmd, shell, cmd_set)
        diff_id: str | None = None
        layer: LayerRecord | None = None
        created_by, comment = "", list[str]()
        if isinstance(cmd, I.EnvCommand):
            run["Env"] = exporter.set_env(run.get("Env"), [(kv.key, kv.value) for kv in cmd.env])
            created_by, comment = exporter.nop("ENV " + " ".join(f"{kv.key}={kv.value}" for kv in cmd.env))
        elif isinstance(cmd, I.LabelCommand):
            labels = dict(run.get("Labels") or {})
            labels.update({kv.key: kv.value for kv in cmd.labels})
            run["Labels"] = labels
            created_by, comment = exporter.nop("LABEL " + " ".join(f"{kv.key}={kv.value}" for kv in cmd.labels))
        elif isinstance(cmd, I.ArgCommand):
            created_by, comment = exporter.nop("ARG " + " ".join(
                kv.key if kv.value is None else f"{kv.key}={kv.value}" for kv in cmd.args))
        elif isinstance(cmd, (I.CmdCommand, I.EntrypointCommand)):
            argv = shell_argv(shell, cmd.cmd, cmd.prepend_shell)
            if isinstance(cmd, I.CmdCommand):
                run["Cmd"] = argv
            else:
                run["Entrypoint"] = argv
                if not cmd_set:
                    run["Cmd"] = None
            created_by, comment = exporter.nop(f"{cmd.name} [" + " ".join(json.dumps(a) for a in argv) + "]")
        elif isinstance(cmd, I.ExposeCommand):
            ports = dict(run.get("ExposedPorts") or {})
            for p in exposed_ports(list(cmd.ports)):
                ports[p] = {}
            run["ExposedPorts"] = ports
            created_by, comment = exporter.nop("EXPOSE " + " ".join(cmd.ports))
        elif isinstance(cmd, I.UserCommand):
            run["User"] = cmd.user
            created_by, comment = exporter.nop(f"USER {cmd.user}")
        elif isinstance(cmd, I.VolumeCommand):
            vols = dict(run.get("Volumes") or {})
            vols.update({v: {} for v in cmd.volumes})
            run["Volumes"] = vols
            created_by, comment = exporter.nop("VOLUME [" + " ".join(cmd.volumes) + "]")
        elif isinstance(cmd, I.StopSignalCommand):
            run["StopSignal"] = cmd.signal
            created_by, comment = exporter.nop(f"STOPSIGNAL {cmd.signal}")
        elif isinstance(cmd, I.ShellCommand):
            run["Shell"] = list(cmd.shell)
            created_by, comment = exporter.nop("SHELL [" + " ".join(json.dumps(a) for a in cmd.shell) + "]")
        elif isinstance(cmd, I.MaintainerCommand):
            state.cfg["author"] = cmd.maintainer
            created_by, comment = exporter.nop(f"MAINTAINER {cmd.maintainer}")
        elif isinstance(cmd, I.OnbuildCommand):
            run["OnBuild"] = [*(run.get("OnBuild") or []), cmd.expression]
            created_by, comment = exporter.nop(f"ONBUILD {cmd.expression}")
        elif isinstance(cmd, I.HealthCheckCommand):
            h = cmd.health
            run["Healthcheck"] = exporter.healthcheck(list(h.test), {
                "Interval": h.interval, "Timeout": h.timeout, "StartPeriod": h.start_period,
                "StartInterval": h.start_interval, "Retries": h.retries}, run.get("Healthcheck"))
            created_by, comment = exporter.nop(f"HEALTHCHECK &{{{list(h.test)}}}")
        elif isinstance(cmd, I.WorkdirCommand):
            # dockerd keeps an absolute WORKDIR as written ("/a/" stays) and cleans a joined one
            wd = cmd.path if cmd.path.startswith("/") else go_clean(f"/{run.get('WorkingDir') or '/'}/{cmd.path}")
            run["WorkingDir"] = wd
            created_by, comment = exporter.nop_one_space(f"WORKDIR {wd}")
            if dry:
                return self._dry(state, run, created_by, comment, key), new_shell, new_cmd_set

            async def mk(root: Path, upper: Path | None) -> None:
                from dockwright.runtime.securejoin import secure_join

                await asyncio.to_thread(os.makedirs, secure_join(str(root), wd), 0o755, True)
            layer = await self._fs_step(state, mk)
        elif isinstance(cmd, (I.CopyCommand, I.AddCommand)):
            if key in self.git_pending and not dry and not sources:
                return await self._exec_git(ec, state, run, shell, cmd_set, out, key, prev)
            kind = "file" if len(sources) == 1 and not sources[0].is_dir else (
                "dir" if len(sources) == 1 else "multi")
            what = f"{kind}:{copyfiles.history_digest(files)}"
            if isinstance(cmd, I.AddCommand) and cmd.paths.sources and all(
                    I.add_source_kind(s) == "url" for s in cmd.paths.sources):
                what = copyfiles.history_digest(files)  # Docker names a download by its digest alone
            created_by, comment = exporter.nop_one_space(f"{cmd.name} {what} in {cmd.paths.dest}")
            if dry:
                return self._dry(state, run, created_by, comment, key), new_shell, new_cmd_set
            owner = await self._owner(cmd.chown, state) if cmd.chown else None
            chmod = int(cmd.chmod, 8) if cmd.chmod else None
            matcher = None if getattr(cmd, "from_", "") else self.matcher
            is_add = isinstance(cmd, I.AddCommand) and tree is self.tree  # URLs and heredocs stay files
            wd = str(run.get("WorkingDir") or "/")

            reuse = self._reuse(prev, files)

            async def cp(root: Path, upper: Path | None) -> None:
                await asyncio.to_thread(copyfiles.copy_into, root, tree, sources, matcher, wd, cmd.paths.dest,
                                        owner=owner, chmod=chmod, is_add=is_add, upper=upper, reuse=reuse)
            if getattr(cmd, "from_", ""):
                cleanup: list[Callable[[], None]] = []
                try:
                    src_root, _ = await self._from_root(cmd.from_, cmd, cleanup)  # type: ignore[union-attr]
                    tree = copyfiles.DirTree(src_root)
                    sources = await asyncio.to_thread(copyfiles.select, tree, list(cmd.paths.sources), None)
                    reuse = None
                    layer = await self._fs_step(state, cp)
                finally:
                    for fn in reversed(cleanup):
                        await asyncio.to_thread(fn)
            else:
                layer = await self._fs_step(state, cp)
        elif isinstance(cmd, I.RunCommand):
            pipe: I.SourceContent | None = None
            if cmd.files:
                script, pipe = heredoc.run_script(cmd)
                argv = [*shell, script]
            else:
                argv = shell_argv(shell, cmd.cmd, cmd.prepend_shell)
            if dry:
                return (self._dry(state, run, exporter.run_created_by(argv, ec.cache_args), argv, key), new_shell,
                        new_cmd_set)
            step_id = uuid.uuid4().hex + uuid.uuid4().hex
            await out(f" ---> Running in {step_id[:12]}\n")
            env = env_for_run(list(run.get("Env") or []), ec.visible_args)
            network = cmd.network if cmd.network != "default" else self.opts.network
            network = {"": "default", "bridge": "default"}.get(network, network)
            req = RunRequest(step_id, argv, env, str(run.get("User") or ""), str(run.get("WorkingDir") or "/"),
                             network, list(self.opts.extra_hosts), [], self.opts.shm_size,
                             self.opts.memory)
            scratch = self.work / step_id[:12]
            await asyncio.to_thread(scratch.mkdir, parents=True, exist_ok=True)
            if pipe is not None:
                script_file = await asyncio.to_thread(_write_pipe, scratch, pipe)
                req.cache_mounts.append((str(script_file), f"{heredoc.PIPES_DIR}/{pipe.path}"))

            volumes = sorted(run.get("Volumes") or {})

            async def go(root: Path, upper: Path | None) -> None:
                if volumes:
                    req.cache_mounts += await asyncio.to_thread(stepvolumes.prepare, root, scratch, volumes)
                try:
                    await run_container(self.e.runtime(), root, scratch, req, out, self.e.network_setup)
                except RunFailed as exc:
                    raise InvalidParameter(
                        f"The command '{' '.join(argv)}' returned a non-zero code: {exc.code}") from None
            async with runmounts.prepare(cmd, req.workdir, scratch, self._mount_sources(cmd)) as req.mounts:
                layer = await self._fs_step(state, go)
            await out(f"Removing intermediate container {step_id[:12]}\n")
            created_by = exporter.run_created_by(argv, ec.cache_args)
            comment = argv
        else:
            raise self._err(cmd, f"{cmd.name} is not supported by this builder")
        layers = list(state.layers)
        if layer is not None:
            layers.append(layer)
            diff_id = layer.diff_id
        cfg = exporter.next_config(state.cfg, state.image_id, run, created_by, diff_id=diff_id, comment_cmd=comment)
        return State(cfg, exporter.image_id(cfg), layers, key, ran=True), new_shell, new_cmd_set

    def _dry(self, state: State, run: dict[str, Any], created_by: str, comment: list[str], key: str) -> State:
        cfg = exporter.next_config(state.cfg, state.image_id, run, created_by, diff_id=_DRY_LAYER,
                                   comment_cmd=comment)
        return State(cfg, "", state.layers, key)

    def _load_inline(self, name: str) -> bool:
        try:
            rec = self.d.image_store.get(name)
        except DockwrightError:
            return False
        return self.remote.load_inline(name, json.loads(rec.config_bytes))

    def _cache_from(self, state: State, planned: State) -> tuple[State, str] | None:
        """The legacy rule: an image named by ``--cache-from`` whose history (and layers) start with
        ours and whose next entry is this step's gives the step. Nothing else is trusted that way."""
        entry = planned.cfg["history"][-1]
        want, empty = entry.get("created_by", ""), bool(entry.get("empty_layer"))
        hist = list(state.cfg.get("history") or [])
        diffs = list((state.cfg.get("rootfs") or {}).get("diff_ids") or [])

        def sig(h: dict[str, Any]) -> tuple[str, bool]:
            return str(h.get("created_by", "")), bool(h.get("empty_layer"))

        for name in self.opts.cache_from:
            try:
                rec = self.d.image_store.get(name)
            except DockwrightError:
                continue
            c = json.loads(rec.config_bytes)
            ch = list(c.get("history") or [])
            cd = list((c.get("rootfs") or {}).get("diff_ids") or [])
            if len(ch) <= len(hist) or cd[:len(diffs)] != diffs:
                continue
            if any(sig(a) != sig(b) for a, b in zip(hist, ch, strict=False)):
                continue
            nxt = ch[len(hist)]
            if sig(nxt) != (want, empty):
                continue
            layers = list(state.layers)
            diff: str | None = None
            if not empty:
                if len(cd) <= len(diffs) or len(rec.layers) <= len(diffs):
                    continue
                diff = cd[len(diffs)]
                layer = rec.layers[len(diffs)]
                if layer.diff_id != diff or layer.parent != state.chain:
                    continue
                layers.append(layer)
                self.lease.snapshots.add(layer.chain_id)
            cfg = exporter.next_config(state.cfg, state.image_id, planned.cfg["config"], want, diff_id=diff,
                                       comment_cmd=list(planned.cfg["container_config"]["Cmd"] or []))
            cfg["history"][-1]["created"] = nxt.get("created", cfg["history"][-1]["created"])
            return State(cfg, exporter.image_id(cfg), layers, planned.key), name
        return None

    def _mount_sources(self, cmd: I.Command) -> runmounts.MountSources:
        """What ``RUN --mount`` reads: the context, secrets, and stages or images by ``from=``."""
        async def key_of(from_: str) -> str:
            ref = resolve_stage_ref(self.stages, from_, allow_index=True)
            if ref is not None:
                return (await self.results[ref]).key
            return str((await asyncio.to_thread(self.d.image_store.get, from_)).id)

        async def root_of(from_: str, cleanup: list[Callable[[], None]]) -> Path:
            return (await self._from_root(from_, cmd, cleanup))[0]

        def known(from_: str) -> bool:
            try:
                if resolve_stage_ref(self.stages, from_, allow_index=True) is not None:
                    return True
                self.d.image_store.get(from_)
            except DockwrightError:
                return False
            return True
        return runmounts.MountSources(self.tree, self.matcher, self.opts.secrets, Path(self.d.root) / "build" / "cache",
                                      key_of, root_of, known)

    async def _git_resolve(self, cmd: I.AddCommand, srcs: list[str]) -> gitsource.Resolved:
        if len(srcs) != 1:
            raise self._err(cmd, "ADD takes one git repository per instruction")
        try:
            return await gitsource.resolve(gitsource.parse(srcs[0]), cmd.keep_git_dir)
        except DockwrightError as exc:
            raise self._err(cmd, str(exc)) from None

    async def _exec_git(self, ec: ExpandedCommand, state: State, run: dict[str, Any], shell: list[str],
                        cmd_set: bool, out: Callable[[str], Awaitable[None]], key: str,
                        prev: StepRecord | None) -> tuple[State, list[str], bool]:
        """ADD from git on a cache miss: clone the resolved commit, then copy it as a directory."""
        cmd = ec.command
        git = self.git_pending[key]
        await out(f"Cloning {git.source.shown} at {git.commit[:12]}\n")
        try:
            async with gitsource.checkout(git, self.work) as root:
                tree = copyfiles.DirTree(root)
                sources = await asyncio.to_thread(copyfiles.select, tree, ["."], None)
                files = await asyncio.to_thread(copyfiles.digest, tree, sources, None, None, None)
                return await self._exec(ec, state, run, shell, cmd_set, tree, sources, files, out, key, prev)
        except DockerfileError:
            raise
        except DockwrightError as exc:
            raise self._err(cmd, str(exc)) from None

    def _reuse(self, prev: StepRecord | None, files: dict[str, str]) -> copyfiles.Reuse | None:
        """Hard-link files unchanged since the previous result of this step from its layer."""
        if prev is None or not prev.chain_id or self.d.snapshotter.whiteout_format() != "overlay":
            return None
        try:
            base = self.d.snapshotter.diff_dir(prev.chain_id)
        except DockwrightError:
            return None
        self.lease.snapshots.add(prev.chain_id)

        def reuse(name: str, layer_rel: str) -> Path | None:
            old = prev.files.get(name)
            return base / layer_rel if old is not None and old == files.get(name) else None
        return reuse

    async def _fs_step(self, state: State, mutate: Callable[[Path, Path | None], Awaitable[None]]) -> LayerRecord:
        sn = self.d.snapshotter
        parent = state.chain
        key = f"extract-build-{uuid.uuid4().hex}"
        await asyncio.to_thread(ensure_unpacked, self.d.image_store, self.d.content, sn, parent)
        mounts = await asyncio.to_thread(sn.prepare, key, parent)
        root = self.work / f"root-{key[-12:]}"
        await asyncio.to_thread(root.mkdir, parents=True)
        committed = False
        try:
            await asyncio.to_thread(mount_all, mounts, root)
            try:
                upper = sn.upper_dir(key) if sn.whiteout_format() == "overlay" else None
                await mutate(root, upper)
            finally:
                await asyncio.to_thread(unmount, root)
            layer = await asyncio.to_thread(self._commit_layer, key, parent)
            committed = True
            return layer
        finally:
            if not committed:
                await asyncio.to_thread(_quiet, sn.remove, key)
            await asyncio.to_thread(_rmdir, root)

    def _commit_layer(self, key: str, parent: str) -> LayerRecord:
        from dockwright.diff.tarwrite import write_diff

        sn = self.d.snapshotter
        content = self.d.content
        writer = content.writer(f"build-{uuid.uuid4().hex}")
        try:
            fmt = sn.whiteout_format()
            lower = sn.lower_dirs(key) if fmt == "native" else None
            res = write_diff(sn.upper_dir(key), cast(BinaryIO, _Writer(writer)), whiteouts=fmt, lower=lower)
            try:
                digest = str(writer.commit(res.size, None))
            except AlreadyExists:
                digest = str(res.diff_id)
        except BaseException:
            with contextlib.suppress(DockwrightError):
                writer.close()
                content.abort(writer.ref)
            raise
        diff_id = str(res.diff_id)
        chain = chain_of(parent, diff_id)
        self.lease.snapshots.add(chain)
        self.lease.blobs.add(digest)
        commit_or_drop(sn, key, chain)
        layer = LayerRecord(chain, diff_id, parent, _content_size(content, digest))
        self.d.image_store.record_layer(layer, (digest, mediatypes.DOCKER_LAYER, res.size))
        return layer

    # -- the result ---------------------------------------------------------------------------
    def _export(self, final: State) -> str:
        from dockwright.oci.reference import parse_reference

        return self._record_image(final, [parse_reference(t) for t in self.opts.tags])

    def _record_image(self, state: State, refs: list[Any]) -> str:
        """Every step's result is an untagged image whose parent is the previous step's, as the
        legacy builder leaves them: ``docker history`` names them, ``rmi`` prunes them."""
        from dockwright.images.imageconfig import encode
        from dockwright.oci.digest import Digest

        data = encode(state.cfg)
        image_id = exporter.image_id(state.cfg)
        content = self.d.content
        if not content.exists(Digest(image_id)):
            w = content.writer(f"build-config-{uuid.uuid4().hex}")
            w.write(data)
            try:
                w.commit(len(data), Digest(image_id))
            except AlreadyExists:
                pass
        self.lease.blobs.add(image_id)
        parent = str((state.cfg.get("config") or {}).get("Image") or "")
        self.d.image_store.add(image_id, state.layers, created=state.cfg.get("created", ""), source="build",
                               parent=parent if self.d.image_store.exists(parent) else "", refs=refs)
        return image_id


def exporter_bytes(cfg: dict[str, Any]) -> bytes:
    from dockwright.images.imageconfig import encode

    return encode(cfg)


def _content_size(content: Any, digest: str) -> int:
    """What Docker reports as a layer's size: the bytes of its regular files, not of the tar."""
    import tarfile

    from dockwright.oci.digest import Digest

    total = 0
    with content.open(Digest(digest)) as f, tarfile.open(fileobj=f, mode="r|") as tf:
        for m in tf:
            if m.isreg():
                total += m.size
    return total


def _closest(siblings: list[StepRecord], op: str, files: dict[str, str]) -> StepRecord | None:
    best: tuple[int, StepRecord] | None = None
    for s in siblings:
        if s.op != op or not s.chain_id:
            continue
        score = sum(1 for k, v in files.items() if s.files.get(k) != v)
        if best is None or score < best[0]:
            best = (score, s)
    return best[1] if best else None


def _shell_after(cmd: I.Command, shell: list[str], cmd_set: bool) -> tuple[list[str], bool]:
    if isinstance(cmd, I.ShellCommand):
        return list(cmd.shell), cmd_set
    if isinstance(cmd, I.CmdCommand):
        return shell, True
    return shell, cmd_set


def _expand_from(name: str, meta: dict[str, str | None], escape: str) -> str:
    if "$" not in name:
        return name
    from dockwright.build.dockerfile.shell_lex import ShellLex

    return ShellLex(escape).process_word(name, meta_env(meta))


def _write_pipe(scratch: Path, doc: I.SourceContent) -> Path:
    """A ``#!`` heredoc as an executable file outside the rootfs, bind-mounted for the step."""
    d = scratch / "pipes"
    d.mkdir(exist_ok=True)
    p = d / doc.path.replace("/", "_")
    p.write_bytes(doc.data.encode("utf-8", "surrogateescape"))
    os.chmod(p, 0o755)
    return p


def _short(image_id: str) -> str:
    return image_id.removeprefix("sha256:")[:12]


def _safe_id(cid: str) -> str:
    import hashlib

    return hashlib.sha256(cid.encode()).hexdigest()[:32]


def _quiet(fn: Callable[..., Any], *args: Any) -> None:
    with contextlib.suppress(DockwrightError, OSError):
        fn(*args)


def _rmdir(p: Path) -> None:
    with contextlib.suppress(OSError):
        os.rmdir(p)


def _rmtree_unmounted(p: Path) -> None:
    """Scratch dirs go; anything still mounted below (a failed unmount) is left for startup GC."""
    from dockwright.snapshots.mount import is_mounted

    if not p.exists():
        return
    for dirpath, dirnames, _ in os.walk(p):
        for d in dirnames:
            if is_mounted(Path(dirpath) / d):
                return
    import shutil

    shutil.rmtree(p, ignore_errors=True)
