"""JSON through the C accelerator only: ``json`` itself pulls in ``re``, ``enum`` and friends.

Those imports cost about 5 ms on every container start; the builtin runtime
reads config.json and writes state.json with ``_json`` directly and falls back
to ``json`` where the accelerator is missing.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

try:
    import _json
except ImportError:  # pragma: no cover - CPython always has it
    _json = None  # type: ignore[assignment]


class _Ctx:
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = float
    memo: dict[str, Any] = {}


def loads(data: str | bytes) -> Any:
    text = data.decode() if isinstance(data, bytes) else data
    if _json is None:
        import json

        return json.loads(text)
    text = text.strip()
    ctx = _Ctx()
    ctx.memo = {}
    try:
        obj, end = _json.make_scanner(ctx)(text, 0)  # type: ignore[arg-type]
    except (StopIteration, ValueError, SystemError):
        # The accelerator reports errors through json.decoder, which we did not import: let the
        # full decoder parse it again for a proper message (this is the rare, failing path).
        import json

        return json.loads(text)
    if end != len(text):
        raise ValueError(f"invalid JSON: extra data at offset {end}")
    return obj


def dumps(obj: Any, sort_keys: bool = False) -> str:
    if _json is None:
        import json

        return json.dumps(obj, sort_keys=sort_keys)

    def default(o: Any) -> Any:
        raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")

    enc = _json.make_encoder({}, default, _json.encode_basestring_ascii, None, ": ", ", ", sort_keys, False, True)
    return "".join(enc(obj, 0))
