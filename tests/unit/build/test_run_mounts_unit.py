"""RUN --mount pieces without a daemon: secrets on the wire, targets inside the rootfs, the key's inputs."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import tarfile
from pathlib import Path

import pytest

from dockwright.build import copyfiles, runmounts, runstep
from dockwright.build.context.dockerignore import Matcher
from dockwright.build.context.tarctx import TarContext
from dockwright.build.dockerfile import instructions as I
from dockwright.build.dockerfile.errors import DockerfileError
from dockwright.build.dockerfile.mounts import parse_mount
from dockwright.build.secrets import Secrets, encode_header, parse_header
from dockwright.client.buildsecrets import SECRETS_HEADER, encode_secrets, read_secret
from dockwright.errors import InvalidParameter


def test_secrets_header_round_trip_and_repr() -> None:
    values = {"tok": b"v\x00\xff", "a.b-c_d": b""}
    s = parse_header(encode_header(values))
    assert dict(s) == values
    assert "v\\x00" not in repr(s) and "tok" in repr(s) and "v\x00" not in str(s)
    wire = encode_secrets(values)[SECRETS_HEADER]
    assert dict(parse_header(wire)) == values
    urlsafe = base64.urlsafe_b64encode(json.dumps({"x": base64.urlsafe_b64encode(b"\xfb\xff").decode()})
                                       .encode()).decode().rstrip("=")
    assert parse_header(urlsafe)["x"] == b"\xfb\xff"
    assert len(parse_header(None)) == 0 and encode_secrets({}) == {}


@pytest.mark.parametrize("raw", ["!!", base64.b64encode(b"[1]").decode(),
                                 base64.b64encode(b'{"bad id": "eA=="}').decode(),
                                 base64.b64encode(b'{"x": 1}').decode(), base64.b64encode(b'{"x": "%%"}').decode()])
def test_secrets_header_errors_name_the_header_not_the_value(raw: str) -> None:
    with pytest.raises(InvalidParameter) as e:
        parse_header(raw)
    assert "X-Dockwright-Build-Secrets" in str(e.value) or "secret id" in str(e.value)


def test_read_secret_specs(tmp_path: Path) -> None:
    f = tmp_path / "npmrc"
    f.write_bytes(b"token")
    assert read_secret(f"id=npm,src={f}") == ("npm", b"token")
    assert read_secret(f"id=npm,source={f}") == ("npm", b"token")
    assert read_secret("id=npm,env=NPM", {"NPM": "e"}) == ("npm", b"e")
    assert read_secret("id=NPM", {"NPM": "e2"}) == ("NPM", b"e2")
    assert read_secret(f"src={f}") == ("npmrc", b"token")
    with pytest.raises(InvalidParameter, match="not set"):
        read_secret("id=x,env=NOPE", {})
    with pytest.raises(InvalidParameter, match="cannot read"):
        read_secret(f"id=x,src={tmp_path / 'missing'}", {})
    with pytest.raises(InvalidParameter, match="unexpected key"):
        read_secret("id=x,what=y", {})
    with pytest.raises(InvalidParameter, match="too large"):
        encode_secrets({"big": b"x" * 100_000})


def test_resolve_target_stays_in_rootfs(tmp_path: Path) -> None:
    root = tmp_path / "rootfs"
    (root / "etc").mkdir(parents=True)
    os.symlink("/../../../../etc", root / "run")
    os.symlink("../../../../../tmp", root / "up")
    assert runstep.resolve_target(root, "/run/secrets/x") == "/etc/secrets/x"
    assert runstep.resolve_target(root, "/up/y") == "/tmp/y"
    assert runstep.resolve_target(root, "/a/../../b") == "/b"


@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
def test_step_mounts_secret_file_env_and_stubs(tmp_path: Path) -> None:
    root = tmp_path / "rootfs"
    (root / "etc").mkdir(parents=True)
    private = tmp_path / "private"
    private.mkdir()
    mounts = [runstep.StepMount("secret", "/run/secrets/tok", data=b"value", mode=0o440, uid=5, gid=6, env="TOK"),
              runstep.StepMount("secret", "", data=b"only-env", env="E"),
              runstep.StepMount("tmpfs", "/etc/t", size=1024),
              runstep.StepMount("bind", "/src", source="/host/dir", readonly=True)]
    oci, env, stubs = runstep._step_mounts(root, private, mounts)
    assert env == ["TOK=value", "E=only-env"]
    assert [m["destination"] for m in oci] == ["/run/secrets/tok", "/etc/t", "/src"]
    secret_file = Path(oci[0]["source"])
    assert secret_file.read_bytes() == b"value" and secret_file.is_relative_to(private)
    st = secret_file.stat()
    assert (st.st_mode & 0o777, st.st_uid, st.st_gid) == (0o440, 5, 6)
    assert "ro" in oci[0]["options"] and "ro" in oci[2]["options"]
    assert oci[1]["options"] == ["nosuid", "nodev", "size=1024"]
    assert stubs == [str(root / "run"), str(root / "run/secrets"), str(root / "run/secrets/tok"),
                     str(root / "etc/t"), str(root / "src")]
    # what the runtime creates as mount points goes again; what the step wrote stays
    (root / "run" / "secrets").mkdir(parents=True)
    (root / "run" / "secrets" / "tok").touch()
    (root / "etc" / "t").mkdir()
    (root / "src").mkdir()
    (root / "src" / "kept").write_text("x")
    runstep._drop_stubs(root, stubs)
    assert sorted(os.listdir(root)) == ["etc", "src"] and os.listdir(root / "etc") == []
    with pytest.raises(InvalidParameter, match="NUL"):
        runstep._step_mounts(root, private, [runstep.StepMount("secret", "", data=b"a\0b", env="X")])
    with pytest.raises(InvalidParameter, match="over /"):
        runstep._step_mounts(root, private, [runstep.StepMount("tmpfs", "/")])


def _context(tmp: Path) -> TarContext:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data, mode in (("data/a.txt", b"a", 0o644), ("data/sub/b.txt", b"b", 0o600),
                                 ("data/skip.txt", b"s", 0o644), ("top.txt", b"t", 0o644)):
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode = len(data), mode
            tf.addfile(ti, io.BytesIO(data))
        ti = tarfile.TarInfo("out")
        ti.type, ti.linkname = tarfile.SYMTYPE, "../../etc"
        tf.addfile(ti)
    buf.seek(0)
    return TarContext.receive(buf, tmp / "ctx.tar")


def _run(line: str) -> I.RunCommand:
    spec = line.split()[1].removeprefix("--mount=")
    return I.RunCommand(name="RUN", location=("Dockerfile", 4, 4), original=line, cmd=("true",),
                        prepend_shell=True, mounts=(parse_mount(spec),), mount_specs=(spec,))


def _sources(ctx: TarContext, secrets: dict[str, bytes] | None = None) -> runmounts.MountSources:
    async def key_of(from_: str) -> str:
        return f"key-of-{from_}"

    async def root_of(from_: str, cleanup: runmounts.Cleanup) -> Path:
        raise AssertionError("not used")

    return runmounts.MountSources(copyfiles.TarTree(ctx), Matcher(["data/skip.txt"]), Secrets(secrets or {}),
                                  Path("/nonexistent"), key_of, root_of, lambda f: f == "stage")


def test_key_inputs_digest_bound_files(tmp_path: Path) -> None:
    ctx = _context(tmp_path)
    try:
        src = _sources(ctx)
        cmd = _run("RUN --mount=type=bind,source=data,target=m true")
        files, extra = asyncio.run(runmounts.key_inputs(cmd, "/work", src))
        assert sorted(files) == ["mount:/work/m", "mount:/work/m/a.txt", "mount:/work/m/sub", "mount:/work/m/sub/b.txt"]
        assert files["mount:/work/m/sub/b.txt"].endswith(":600:0:0")
        assert extra.startswith("mounts:sha256:")
        files2, extra2 = asyncio.run(runmounts.key_inputs(
            _run("RUN --mount=type=bind,from=stage,source=/x,target=/s true"), "/", src))
        assert files2 == {} and "key-of-stage" in extra2
        no_bind, none = asyncio.run(runmounts.key_inputs(_run("RUN --mount=type=tmpfs,target=/t true"), "/", src))
        assert no_bind == {} and none == ""
    finally:
        ctx.close()


@pytest.mark.parametrize(("line", "message"), [
    ("RUN --mount=type=bind,source=../up,target=/x true", "forbidden path outside the build context"),
    ("RUN --mount=type=bind,source=out/passwd,target=/x true", "forbidden path outside the build context"),
    ("RUN --mount=type=bind,source=data/skip.txt,target=/x true", "file not found"),
    ("RUN --mount=type=bind,from=nope,target=/x true", "no build stage or local image named 'nope'"),
    ("RUN --mount=type=secret,id=s,required true", "secret 's' is required"),
    ("RUN --mount=type=ssh true", "ssh is not supported"),
])
def test_check_errors_carry_the_location(tmp_path: Path, line: str, message: str) -> None:
    ctx = _context(tmp_path)
    try:
        with pytest.raises(DockerfileError) as e:
            runmounts.check(_run(line), _sources(ctx))
        assert str(e.value).startswith("Dockerfile:4: RUN failed: ") and message in str(e.value)
    finally:
        ctx.close()


def test_check_passes_and_targets(tmp_path: Path) -> None:
    ctx = _context(tmp_path)
    try:
        runmounts.check(_run("RUN --mount=type=secret,id=s,required true"), _sources(ctx, {"s": b"x"}))
        runmounts.check(_run("RUN --mount=type=secret,id=absent true"), _sources(ctx))
        runmounts.check(_run("RUN --mount=type=bind,from=stage,target=/x true"), _sources(ctx))
    finally:
        ctx.close()
    assert runmounts.target_of(parse_mount("type=tmpfs,target=a/../b"), "/w") == "/w/b"
    assert runmounts.target_of(parse_mount("type=tmpfs,target=/../x"), "/w") == "/x"
