"""Parameter grids for batch runs: ``-p NAME VALUE...`` options and ``--grid FILE`` files.

A grid is a list of parameter dicts, one per execution of each notebook. Values are parsed as
YAML 1.2 scalars: ``0`` is an int, ``0.1`` and ``1e-3`` are floats, ``true``/``false`` are bools,
``null`` is None, anything else (``on``, ``2024-01-01``, ``adam``) stays a string.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from ..errors import InputError

Grid = list[dict[str, Any]]

_FLOAT_RE = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)
_BOOL_RE = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")


class GridLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core-schema scalars (no ``on``/``yes`` bools, no dates)."""


GridLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers
            if tag not in {"tag:yaml.org,2002:bool", "tag:yaml.org,2002:float",
                           "tag:yaml.org,2002:timestamp"}]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
GridLoader.add_implicit_resolver("tag:yaml.org,2002:bool", _BOOL_RE, list("tTfF"))
GridLoader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT_RE, list("-+0123456789."))


def parse_value(text: str) -> Any:
    """One command-line value as a YAML scalar (``[1, 2]`` and ``{a: 1}`` also work)."""
    try:
        value = yaml.load(text, Loader=GridLoader)  # a SafeLoader subclass
    except yaml.YAMLError:
        return text
    return text if value is None and text.strip() not in {"null", "Null", "NULL", "~"} else value


def check_name(name: str, source: str) -> str:
    """``name`` if it can be a notebook variable; papermill injects ``name = value``."""
    if not isinstance(name, str) or not name.isidentifier():
        raise InputError(f"{source}: parameter name {name!r} is not a Python identifier")
    return name


def product(params: Mapping[str, Sequence[Any]]) -> Grid:
    """The cartesian product of ``{name: [values]}``, in the order given (last name varies fastest)."""
    names = list(params)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*(params[n] for n in names))]


def grid_from_options(options: Iterable[Sequence[str]] | None) -> dict[str, list[Any]]:
    """``{name: values}`` from repeated ``-p NAME VALUE [VALUE...]`` options."""
    params: dict[str, list[Any]] = {}
    for option in options or []:
        if len(option) < 2:
            raise InputError(f"-p {' '.join(option)}: give a name and at least one value",
                             hint="e.g. -p seed 0 1 2")
        name = check_name(option[0], f"-p {option[0]}")
        if name in params:
            raise InputError(f"-p {name} is given twice", hint="put all its values in one -p")
        params[name] = [parse_value(v) for v in option[1:]]
    return params


def load_grid(path: str | Path) -> Grid:
    """A grid file: YAML or JSON, a mapping ``name: [values]`` (cartesian) or a list of dicts."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"grid file {file} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"grid file {file} cannot be read ({exc})") from None
    try:
        data = yaml.load(text, Loader=GridLoader)  # JSON is YAML too
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}" if where is not None else ""
        raise InputError(f"grid file {file} is not valid YAML or JSON{at}") from None
    source = f"grid file {file}"
    if isinstance(data, Mapping) and data:
        values = {check_name(k, source): list(v) if isinstance(v, list) else [v]
                  for k, v in data.items()}
        empty = [k for k, v in values.items() if not v]
        if empty:
            raise InputError(f"{source}: parameter {empty[0]!r} has an empty list of values")
        return product(values)
    if isinstance(data, list) and data:
        grid: Grid = []
        for number, entry in enumerate(data, 1):
            if not isinstance(entry, Mapping):
                raise InputError(f"{source}: entry {number} is not a mapping of parameters")
            grid.append({check_name(k, source): v for k, v in entry.items()})
        return grid
    raise InputError(f"{source} must hold a mapping name -> list of values, or a non-empty list "
                     "of parameter mappings")


def cross(first: Grid, second: Grid, *, source: str = "the grid file") -> Grid:
    """Every entry of ``first`` combined with every entry of ``second`` (names must not overlap)."""
    both = sorted({k for e in first for k in e} & {k for e in second for k in e})
    if both:
        raise InputError(f"parameter {both[0]!r} is given both as -p and in {source}")
    return [{**a, **b} for a in first for b in second]


def build_grid(options: Iterable[Sequence[str]] | None = None,
               grid_file: str | Path | None = None) -> Grid:
    """The executions' parameters: the grid file's entries crossed with the ``-p`` product.

    With neither, one execution with the notebook's own defaults (``[{}]``).
    """
    base = load_grid(grid_file) if grid_file is not None else [{}]
    return cross(base, product(grid_from_options(options)), source=f"grid file {grid_file}")


def normalise_grid(grid: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None) -> Grid:
    """A grid given from Python: ``{name: values}`` (cartesian; a scalar is one value) or dicts."""
    if grid is None:
        return [{}]
    if isinstance(grid, Mapping):
        values = {check_name(k, "grid"): list(v) if isinstance(v, (list, tuple, range)) else [v]
                  for k, v in grid.items()}
        return product(values)
    out = [{check_name(k, "grid"): v for k, v in dict(entry).items()} for entry in grid]
    return out or [{}]


def format_value(value: Any) -> str:
    """A parameter value as written in output names and tables (``true``, ``0.001``, ``adam``)."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, (int, float, str)):
        return str(value)
    return json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))


_UNSAFE_RE = re.compile(r"[^A-Za-z0-9._+=,-]+")


def execution_name(stem: str, params: Mapping[str, Any], *, max_len: int = 150) -> str:
    """``<stem>__<name=value>__...`` made safe for file names (no braces: papermill formats paths)."""
    parts = [f"{k}={format_value(v)}" for k, v in params.items()]
    slug = _UNSAFE_RE.sub("-", "__".join([stem, *parts]) if parts else stem)
    if len(slug) > max_len:
        digest = hashlib.sha1(slug.encode()).hexdigest()[:8]
        slug = f"{slug[: max_len - 10]}__{digest}"
    return slug
