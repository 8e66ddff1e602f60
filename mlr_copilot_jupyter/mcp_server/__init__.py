"""``mlr-copilot mcp``: the copilot as a Model Context Protocol server (official ``mcp`` SDK).

One more thin surface over :class:`~mlr_copilot_jupyter.api.Copilot`: tools for papers, ideas and
experiments, resources for the research state and each run's record, over stdio or streamable
HTTP. Import :func:`build_server` from :mod:`.server` (it needs the ``mcp`` package).
"""

from __future__ import annotations

__all__ = ["build_server"]


def __getattr__(name: str) -> object:
    if name == "build_server":
        from .server import build_server

        return build_server
    raise AttributeError(name)
