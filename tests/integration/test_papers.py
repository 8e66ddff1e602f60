"""arXiv that accepts the connection but never answers: the fetch gives up at its timeout (the rest
of mlr_copilot_jupyter.papers is tested in tests/unit/test_papers.py)."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from mlr_copilot_jupyter.errors import NetworkUnavailable
from mlr_copilot_jupyter.papers import (
    load_paper,
)
from tests.support.load import time_bound


def test_arxiv_timeout_raises_network_unavailable(tmp_path: Path) -> None:
    with socket.socket() as silent:  # accepts connections (backlog) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(5)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        start = time.perf_counter()
        with pytest.raises(NetworkUnavailable, match="cannot reach arXiv to fetch 2408.14033"):
            load_paper("2408.14033", arxiv_base_url=url, cache_dir=tmp_path, timeout=0.5)
        assert time.perf_counter() - start < time_bound(5)
