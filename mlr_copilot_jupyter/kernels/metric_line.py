"""The metric line: the protocol between code run in a kernel and whoever reads its output.

A cell reports a result by printing one line::

    MLR_METRIC {"name": "accuracy", "value": 0.93}

The payload is a JSON object with a non-empty string ``name`` and a finite number ``value``;
extra keys (``split``, ``step``, ...) are kept. In the kernel, the hidden prelude defines
``report_metric(name, value, **extra)`` which prints such a line and returns ``value``; the
experiment agent reads the lines from each cell's output, a batch from each executed notebook.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

METRIC_MARKER = "MLR_METRIC"

# CSI sequences (colours, cursor moves), OSC sequences (titles, links) and lone two-byte escapes.
_ANSI_RE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")


def strip_ansi(text: str) -> str:
    """``text`` without ANSI escape sequences (IPython colours its tracebacks)."""
    return _ANSI_RE.sub("", text)


#: Source run silently in every fresh kernel. Self-contained (stdlib only): the kernel may not be
#: able to import this package. The host's :func:`format_metric_line` is built from the same
#: source, so both sides always agree on the format.
REPORT_METRIC_PRELUDE = '''
def _mlr_copilot_make_report_metric():
    import json as _json
    import math as _math

    def _to_float(value):
        if isinstance(value, str):
            raise TypeError("metric value must be a number, got a string: %r" % (value,))
        try:
            out = float(value)
        except (TypeError, ValueError):
            item = getattr(value, "item", None)
            if item is None:
                raise TypeError("metric value must be a number, got %s" % type(value).__name__)
            out = float(item())
        if not _math.isfinite(out):
            raise ValueError("metric value must be finite, got %r" % (out,))
        return out

    def _plain(obj):
        item = getattr(obj, "item", None)
        if callable(item):
            try:
                return item()
            except Exception:
                pass
        tolist = getattr(obj, "tolist", None)
        if callable(tolist):
            return tolist()
        return str(obj)

    def format_metric_line(name, value, **extra):
        if not isinstance(name, str) or not name.strip():
            raise ValueError("metric name must be a non-empty string")
        record = {"name": name, "value": _to_float(value)}
        for key, val in extra.items():
            if key not in record:
                record[key] = val
        payload = _json.dumps(record, default=_plain, allow_nan=False, ensure_ascii=True)
        return "MLR_METRIC " + payload

    def report_metric(name, value, **extra):
        """Report a result to the research copilot; returns ``value`` unchanged."""
        print(format_metric_line(name, value, **extra), flush=True)
        return value

    report_metric.format_line = format_metric_line
    return report_metric


report_metric = _mlr_copilot_make_report_metric()
del _mlr_copilot_make_report_metric
'''


def _build_formatter() -> Any:
    namespace: dict[str, Any] = {}
    exec(compile(REPORT_METRIC_PRELUDE, "<mlr_copilot prelude>", "exec"), namespace)
    return namespace["report_metric"].format_line


_FORMAT = _build_formatter()


def format_metric_line(name: str, value: Any, **extra: Any) -> str:
    """The ``MLR_METRIC {...}`` line for one result (no trailing newline).

    Raises ``ValueError``/``TypeError`` for an empty name or a non-finite / non-numeric value.
    """
    return str(_FORMAT(name, value, **extra))


def _reject(constant: str) -> float:
    raise ValueError(f"non-finite constant {constant}")


_MARKER_RE = re.compile(rf"{METRIC_MARKER}\s*(?=\{{)")
_DECODER = json.JSONDecoder(parse_constant=_reject)


def _valid(record: Any) -> bool:
    if not isinstance(record, dict):
        return False
    name, value = record.get("name"), record.get("value")
    if not isinstance(name, str) or not name.strip():
        return False
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return math.isfinite(value)


def parse_metrics(text: str) -> list[dict[str, Any]]:
    """Every well-formed metric record in ``text``, in order; malformed lines are ignored.

    The marker may follow other text on the same line (e.g. a progress bar); ANSI codes are
    removed first. ``value`` is returned as a float; NaN/Infinity and booleans are rejected.
    """
    found: list[dict[str, Any]] = []
    for line in strip_ansi(text).splitlines():
        for match in _MARKER_RE.finditer(line):
            try:
                record, _ = _DECODER.raw_decode(line, match.end())
            except ValueError:
                continue
            if _valid(record):
                record["value"] = float(record["value"])
                found.append(record)
    return found


def latest_metrics(records: list[dict[str, Any]]) -> dict[str, float]:
    """``{name: value}`` keeping the last value reported for each name."""
    return {r["name"]: float(r["value"]) for r in records}
