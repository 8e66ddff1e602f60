"""``mlr-copilot mcp`` driven by the official ``mcp`` SDK client, over stdio and streamable HTTP.

The server is the real CLI in a subprocess with the offline engine (no LLM variables in its
environment); experiments run on the bundled ``digits`` task with one or two search steps.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import nbformat
import pytest
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from tests.support.cli import cli_command
from tests.support.load import time_bound
from tests.support.pdfgen import make_conference_pdf

pytestmark = pytest.mark.slow

TOOLS = {"read_paper", "extract_problem", "generate_ideas", "review_ideas", "decide_idea",
         "run_experiment", "run_status", "send_feedback", "decide_cell", "stop_run",
         "compare_ideas", "get_report", "batch"}
PLANTED = "sk-mcpPLANTED-0123456789abcdefXYZ"


def server_env(work: Path, **extra: str) -> dict[str, str]:
    """A hermetic environment: no OPENAI_* / MLR_COPILOT_* from the caller, runs under ``work``."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OPENAI_", "MLR_COPILOT_", "ANTHROPIC_"))}
    env["MLR_COPILOT_RUN_DIR"] = str(work / "runs")
    env["MLR_COPILOT_SEMANTIC_SCHOLAR"] = "off"  # generate_ideas asks it by default: no network
    env.update(extra)
    return env


@pytest.fixture
def work(tmp_path: Path) -> Path:
    make_conference_pdf(tmp_path / "paper.pdf", pages=3)
    return tmp_path


@asynccontextmanager
async def stdio_session(work: Path, *args: str, env: dict[str, str] | None = None
                        ) -> AsyncIterator[ClientSession]:
    cmd = cli_command()
    params = StdioServerParameters(command=cmd[0], args=[*cmd[1:], "mcp", "--root", str(work), *args],
                                   env=env or server_env(work), cwd=str(work))
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


async def call(session: ClientSession, tool: str, **arguments: Any) -> dict[str, Any]:
    """Call a tool that must succeed; its structured result."""
    result = await session.call_tool(tool, arguments)
    assert not result.is_error, f"{tool} failed: {result.content[0].text}"  # type: ignore[union-attr]
    assert isinstance(result.structured_content, dict)
    return result.structured_content


async def tool_error(session: ClientSession, tool: str, **arguments: Any) -> str:
    """Call a tool that must fail; its one-line error text."""
    result = await session.call_tool(tool, arguments)
    assert result.is_error, f"{tool}({arguments}) did not fail: {result.structured_content}"
    text = result.content[0].text  # type: ignore[union-attr]
    assert "\n" not in text.strip() and "Traceback" not in text, text
    return text


async def read_text(session: ClientSession, uri: str) -> str:
    result = await session.read_resource(uri)
    return result.contents[0].text  # type: ignore[union-attr]


async def poll_until_done(session: ClientSession, run_id: str, timeout: float = 240.0,
                          statuses: list[str] | None = None,
                          ) -> tuple[dict[str, Any], list[tuple[int, int]]]:
    """Poll run_status as its description says, until ``report_ready``; the final status and
    every (nodes, steps_done) seen. ``statuses`` collects every status seen. Along the way the
    documented fields never contradict each other: a report is never ready before the run is
    done, and a status of done/interrupted/failed means ``done`` is true."""
    seen: list[tuple[int, int]] = []
    deadline = time.monotonic() + time_bound(timeout)
    while time.monotonic() < deadline:
        status = await call(session, "run_status", run_id=run_id)
        assert status["status"] in {"running", "verifying", "reporting", "done", "interrupted",
                                    "failed"}, status["status"]
        assert not status["report_ready"] or status["done"], status
        assert status["done"] == (status["status"] in {"done", "interrupted", "failed"}), status
        if statuses is not None and (not statuses or statuses[-1] != status["status"]):
            statuses.append(status["status"])
        point = (status["progress"]["nodes"], status["progress"]["steps_done"])
        if not seen or seen[-1] != point:
            seen.append(point)
        if status["report_ready"]:
            return status, seen
        await anyio.sleep(0.1)
    raise AssertionError(f"run {run_id}'s report was not ready in {timeout}s")


def check_record(text: str, status: dict[str, Any]) -> nbformat.NotebookNode:
    """The record is a valid notebook whose best node carries the reported metric."""
    nb = nbformat.reads(text, as_version=4)
    nbformat.validate(nb)
    best = status["best"]
    cells = [c for c in nb.cells if c.metadata.get("mlr_copilot", {}).get("node_id") == best["id"]]
    assert any(c.cell_type == "code" and c.metadata["mlr_copilot"]["metric"] == best["metric"]
               for c in cells), "the best node's code cell does not carry its metric"
    return nb


def test_stdio_paper_to_verified_record(work: Path) -> None:
    """Must show 1: list tools, read_paper (PDF), ideas, decide, run, poll, read the record."""

    async def main() -> None:
        async with stdio_session(work) as s:
            tools = {t.name: t for t in (await s.list_tools()).tools}
            assert set(tools) == TOOLS
            for tool in tools.values():
                assert tool.description and len(tool.description) > 80
                assert tool.input_schema["type"] == "object"
            assert tools["decide_idea"].input_schema["properties"]["action"]["enum"] == [
                "accept", "reject", "reset", "edit"]

            paper = await call(s, "read_paper", source="paper.pdf")
            assert paper["title"].startswith("Sparse Mixture Adapters")
            assert "introduction" in paper["sections"]
            ideas = (await call(s, "generate_ideas", n=3))["ideas"]
            assert len(ideas) == 3 and len({i["id"] for i in ideas}) == 3
            chosen = ideas[0]["id"]
            decided = await call(s, "decide_idea", idea_id=chosen, action="accept",
                                 comment="worth a run")
            assert decided["status"] == "accepted" and decided["comment"] == "worth a run"
            edited = await call(s, "decide_idea", idea_id=ideas[1]["id"], action="edit",
                                edits={"hypothesis": "An edited hypothesis."})
            assert edited["hypothesis"] == "An edited hypothesis."
            state = json.loads(await read_text(s, "mlr://state"))
            assert [i["status"] for i in state["ideas"] if i["id"] == chosen] == ["accepted"]

            started_at = time.monotonic()
            started = await call(s, "run_experiment", task="digits", idea_id=chosen, max_steps=1)
            # returns at once, the run goes on
            assert time.monotonic() - started_at < time_bound(30)
            assert started["status"] == "running"
            run_id = started["run_id"]
            statuses: list[str] = []
            status, seen = await poll_until_done(s, run_id, statuses=statuses)
            # issue 27: `verifying` while the replay runs; the status never said done before
            # the report was there (a client reading `status` asked get_report too early)
            assert statuses[0] == "running" and statuses[-1] == "done", statuses
            assert "verifying" in statuses, statuses
            assert len(seen) >= 2, f"no progress seen while polling: {seen}"
            assert seen[-1][0] > seen[0][0]
            assert status["status"] == "done" and status["error"] is None
            assert status["best"]["metric"] is not None

            nb = check_record(await read_text(s, f"mlr://runs/{run_id}/experiment.ipynb"), status)
            assert nb.metadata["mlr_copilot"]["idea"]["id"] == chosen
            journal = json.loads(await read_text(s, f"mlr://runs/{run_id}/journal.json"))
            best = next(n for n in journal["nodes"] if n["id"] == status["best"]["id"])
            assert best["verified"] is True
            assert best["verified_metric"] == pytest.approx(best["metric"], rel=0.01)
            report = await call(s, "get_report", run_id=run_id)
            assert "Best verified" in report["markdown"]
            assert Path(report["record_path"]).is_file()
            assert report["markdown"] == await read_text(s, f"mlr://runs/{run_id}/report.md")

    anyio.run(main)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_http(work: Path, address: str, *args: str, env: dict[str, str] | None = None
               ) -> subprocess.Popen[str]:
    proc = subprocess.Popen([*cli_command(), "mcp", "--root", str(work), "--http", address, *args],
                            cwd=work, env=env or server_env(work), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    return proc


def wait_listening(port: int, proc: subprocess.Popen[str], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else "server exited"
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError("the HTTP server did not start")


@asynccontextmanager
async def http_session(url: str, token: str | None = None) -> AsyncIterator[ClientSession]:
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(60, read=300)) as client, \
            streamable_http_client(url, http_client=client) as (read, write), \
            ClientSession(read, write) as session:
        await session.initialize()
        yield session


def stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def test_streamable_http_and_token(work: Path) -> None:
    """Must show 2: the same flow over streamable HTTP; off loopback a token is required."""
    port = free_port()
    proc = start_http(work, f"127.0.0.1:{port}")
    try:
        wait_listening(port, proc)

        async def main() -> None:
            async with http_session(f"http://127.0.0.1:{port}/mcp") as s:
                assert {t.name for t in (await s.list_tools()).tools} == TOOLS
                await call(s, "read_paper", source=str(work / "paper.pdf"))
                idea = (await call(s, "generate_ideas", n=2))["ideas"][0]["id"]
                await call(s, "decide_idea", idea_id=idea, action="accept")
                progress: list[float] = []

                async def on_progress(done: float, total: float | None, message: str | None) -> None:
                    progress.append(done)

                result = await s.call_tool(
                    "run_experiment", {"task": "digits", "idea_id": idea, "max_steps": 1,
                                       "wait": True}, progress_callback=on_progress)
                assert not result.is_error, result.content
                status = result.structured_content
                assert isinstance(status, dict) and status["done"] and status["status"] == "done"
                assert len(progress) >= 2 and progress == sorted(progress), progress
                check_record(await read_text(s, f"mlr://runs/{status['run_id']}/experiment.ipynb"),
                             status)

        anyio.run(main)
    finally:
        stop(proc)

    # another address without a token: refused at start, one line, exit 1
    bare = subprocess.run([*cli_command(), "mcp", "--http", f"0.0.0.0:{free_port()}"], cwd=work,
                          env=server_env(work), capture_output=True, text=True, timeout=60)
    assert bare.returncode == 1
    assert bare.stderr.strip().count("\n") == 0 and "needs a token" in bare.stderr

    token = "t0ken-for-the-mcp-test-0123456789"
    port = free_port()
    proc = start_http(work, f"0.0.0.0:{port}", env=server_env(work, MLR_COPILOT_MCP_TOKEN=token))
    try:
        wait_listening(port, proc)
        url = f"http://127.0.0.1:{port}/mcp"
        init = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
                "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                           "clientInfo": {"name": "raw", "version": "0"}}}
        headers = {"Accept": "application/json, text/event-stream"}
        assert httpx.post(url, json=init, headers=headers).status_code == 401
        wrong = {**headers, "Authorization": "Bearer not-the-token-at-all-xx"}
        assert httpx.post(url, json=init, headers=wrong).status_code == 401

        async def with_token() -> None:
            async with http_session(url, token) as s:
                assert {t.name for t in (await s.list_tools()).tools} == TOOLS

        anyio.run(with_token)
    finally:
        stop(proc)


@pytest.mark.slow_ok(reason="an MCP server subprocess starts two real experiment runs, stops one "
                     "and cancels the other, then resumes")
def test_stop_and_cancel_leave_resumable_records(work: Path) -> None:
    """Must show 3: stop_run and MCP cancellation each leave a valid, resumable record."""

    async def main() -> None:
        async with stdio_session(work) as s:
            run_id = (await call(s, "run_experiment", task="digits", max_steps=6))["run_id"]
            deadline = time.monotonic() + 120
            while (await call(s, "run_status", run_id=run_id))["progress"]["nodes"] < 1:
                assert time.monotonic() < deadline
                await anyio.sleep(0.2)
            stopped = await call(s, "stop_run", run_id=run_id)
            assert stopped["done"] and stopped["status"] in {"done", "interrupted"}
            assert stopped["progress"]["steps_done"] < 6  # it stopped early
            nb = nbformat.reads(await read_text(s, f"mlr://runs/{run_id}/experiment.ipynb"), 4)
            nbformat.validate(nb)
            resumed = await call(s, "run_experiment", resume=run_id, max_steps=1, wait=True)
            assert resumed["run_id"] == run_id and resumed["done"]
            assert resumed["status"] == "done" and resumed["best"]["metric"] is not None

            # MCP cancellation: the request following a run is cancelled by the client
            events: list[float] = []
            with anyio.move_on_after(240):
                async with anyio.create_task_group() as tg:
                    async def follow() -> None:
                        await s.call_tool("run_experiment",
                                          {"task": "digits", "max_steps": 6, "wait": True},
                                          progress_callback=lambda d, t, m: _note(events, d))

                    tg.start_soon(follow)
                    while len(events) < 2:  # the baseline has started
                        await anyio.sleep(0.1)
                    tg.cancel_scope.cancel()
            runs = json.loads(await read_text(s, "mlr://runs"))["runs"]
            cancelled = [r for r in runs if r["run_id"] != run_id]
            assert len(cancelled) == 1
            cancelled_id = cancelled[0]["run_id"]
            deadline = time.monotonic() + 120
            status = await call(s, "run_status", run_id=cancelled_id)
            while not status["done"]:
                assert time.monotonic() < deadline, "the cancelled run kept running"
                await anyio.sleep(0.3)
                status = await call(s, "run_status", run_id=cancelled_id)
            assert status["status"] == "interrupted", status
            nb = nbformat.reads(await read_text(s, f"mlr://runs/{cancelled_id}/experiment.ipynb"),
                                4)
            nbformat.validate(nb)
            json.loads(await read_text(s, f"mlr://runs/{cancelled_id}/journal.json"))
            resumed = await call(s, "run_experiment", resume=cancelled_id, max_steps=1, wait=True)
            assert resumed["status"] == "done" and resumed["best"]["metric"] is not None

    anyio.run(main)


async def _note(events: list[float], done: float) -> None:
    events.append(done)


def test_bad_arguments_are_one_line_tool_errors(work: Path) -> None:
    """Must show 4: unknown idea, missing task, path traversal, negative steps: one-line errors."""

    async def main() -> None:
        async with stdio_session(work) as s:
            await call(s, "read_paper", source="paper.pdf")
            await call(s, "generate_ideas", n=2)
            assert "no idea with id 'idea-99'" in await tool_error(
                s, "decide_idea", idea_id="idea-99", action="accept")
            assert "no idea with id 'idea-99'" in await tool_error(
                s, "run_experiment", task="digits", idea_id="idea-99")
            assert "task is missing" in await tool_error(s, "run_experiment", max_steps=1)
            assert "not found" in await tool_error(s, "run_experiment", task="no_such_task")
            for tool, args in [("read_paper", {"source": "../../etc/passwd"}),
                               ("read_paper", {"source": "/etc/passwd"}),
                               ("run_experiment", {"task": "../../etc"}),
                               ("batch", {"notebooks": ["../../etc/passwd"]})]:
                assert "outside the folders" in await tool_error(s, tool, **args)
            assert "not a run id" in await tool_error(s, "run_status", run_id="../../etc/passwd")
            assert "not an arXiv URL" in await tool_error(s, "read_paper",
                                                          source="https://example.com/p.pdf")
            assert "--max-steps must be between 0 and 200, got -1" in await tool_error(
                s, "run_experiment", task="digits", max_steps=-1)
            assert "invalid arguments" in await tool_error(
                s, "run_experiment", task="digits", max_steps="many")
            assert "n must be between 1 and 20" in await tool_error(s, "generate_ideas", n=-3)
            assert "no run" in await tool_error(s, "get_report", run_id="20260101-000000-x-0000")
            with pytest.raises(Exception) as info:
                await s.read_resource("mlr://runs/..%2F..%2Fetc/report.md")
            assert "passwd" not in str(info.value) and "\n" not in str(info.value)
            # still serving, state intact
            assert len((await call(s, "review_ideas"))["ideas"]) == 2
            assert not (work / "runs" / "etc").exists()

    anyio.run(main)


def all_text(result: Any) -> str:
    parts = [getattr(c, "text", "") for c in result.content]
    return "\n".join(parts) + json.dumps(result.structured_content)


@pytest.mark.slow_ok(reason="an MCP server subprocess runs every tool once, an experiment "
                     "included, and greps each reply")
def test_planted_key_never_in_results_or_resources(work: Path) -> None:
    """Must show 5: with a key in the server's environment, no tool result or resource has it."""
    env = server_env(work, OPENAI_API_KEY=PLANTED, MLR_COPILOT_BACKEND="offline",
                     HF_TOKEN=PLANTED[::-1])
    texts: list[str] = []

    async def main() -> None:
        async with stdio_session(work, env=env) as s:
            async def run(tool: str, **args: Any) -> dict[str, Any]:
                result = await s.call_tool(tool, args)
                texts.append(all_text(result))
                assert not result.is_error, all_text(result)
                return result.structured_content  # type: ignore[return-value]

            await run("read_paper", source="paper.pdf")
            await run("extract_problem")
            ideas = (await run("generate_ideas", n=2))["ideas"]
            await run("review_ideas")
            # an agent pastes the key into free text: it must not be stored or echoed
            await run("decide_idea", idea_id=ideas[0]["id"], action="accept",
                      comment=f"my key is {PLANTED}")
            await run("decide_idea", idea_id=ideas[1]["id"], action="edit",
                      edits={"rationale": f"uses {PLANTED}"})
            run_id = (await run("run_experiment", task="digits", plan=f"try {PLANTED}",
                                max_steps=3, seed=1))["run_id"]
            await run("send_feedback", run_id=run_id, text=f"key={PLANTED}; prefer simple models")
            await run("run_status", run_id=run_id)
            await run("stop_run", run_id=run_id)
            await run("get_report", run_id=run_id)
            table = await run("compare_ideas", task="digits", idea_ids=[i["id"] for i in ideas],
                              max_steps=0)
            assert [r["idea_id"] for r in table["rows"]] == [i["id"] for i in ideas]
            assert all(r["status"] == "done" for r in table["rows"]), table
            await run("batch", notebooks=[f"runs/{run_id}/experiment.ipynb"],
                      params={"seed": [0]}, workers=1)
            bad = await s.call_tool("decide_cell", {"run_id": run_id, "action": "approve"})
            texts.append(all_text(bad))
            uris = [str(r.uri) for r in (await s.list_resources()).resources]
            for rid in [run_id, *(r["run_id"] for r in table["rows"])]:
                uris += [f"mlr://runs/{rid}/{n}" for n in ("experiment.ipynb", "journal.json",
                                                           "report.md")]
            for uri in uris:
                texts.append(await read_text(s, uri))

    anyio.run(main)
    blob = "\n".join(texts)
    assert len(texts) > 20 and "Best verified" in blob  # the results were really read
    assert "prefer simple models" in blob and "my key is ***" in blob  # redacted, not dropped
    for secret in (PLANTED, PLANTED[::-1]):
        assert secret not in blob and secret[-12:] not in blob
    on_disk = [p for p in (work / "runs").rglob("*") if p.is_file()
               and PLANTED[-12:].encode() in p.read_bytes()]
    assert on_disk == []


def test_redactor_removes_environment_secrets_from_nested_results() -> None:
    """The last line of defence: every string of a result, keys included, is redacted."""
    from mlr_copilot_jupyter.mcp_server.guard import Redactor

    environ = {"MY_SERVICE_TOKEN": "tok-123456789", "OPENAI_API_KEY": PLANTED, "HOME": "/root"}
    redactor = Redactor(environ, extra=["bearer-extra-secret"])
    out = redactor.data({"a": [f"x {PLANTED} y", {"tok-123456789": "bearer-extra-secret"}],
                         "home": "/root", "n": 3})
    text = json.dumps(out)
    assert PLANTED not in text and "tok-123456789" not in text and "bearer-extra-secret" not in text
    assert out["home"] == "/root" and out["n"] == 3 and out["a"][0] == "x *** y"


@pytest.mark.slow_ok(reason="an MCP server subprocess runs an experiment in approve mode, one cell "
                     "at a time")
def test_approval_through_the_protocol_and_human_only(work: Path) -> None:
    """An agent approves, edits and rejects pending cells; --human-approval refuses that."""

    async def wait_pending(s: ClientSession, run_id: str) -> dict[str, Any]:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            status = await call(s, "run_status", run_id=run_id)
            if status["pending_approval"]:
                return status["pending_approval"]
            assert not status["done"], status
            await anyio.sleep(0.2)
        raise AssertionError("no cell came up for approval")

    async def main() -> None:
        async with stdio_session(work) as s:
            run_id = (await call(s, "run_experiment", task="digits", max_steps=2,
                                 mode="approve"))["run_id"]
            first = await wait_pending(s, run_id)
            edited = first["code"] + "\nprint('edited through MCP')\n"
            await call(s, "decide_cell", run_id=run_id, action="edit", code=edited)
            second = await wait_pending(s, run_id)
            assert second["node_id"] != first["node_id"]
            await call(s, "decide_cell", run_id=run_id, action="reject", comment="not this one")
            status, _ = await poll_until_done(s, run_id)
            journal = json.loads(await read_text(s, f"mlr://runs/{run_id}/journal.json"))
            by_id = {n["id"]: n for n in journal["nodes"]}
            assert by_id[first["node_id"]]["approval"] == "edited"
            assert "edited through MCP" in by_id[first["node_id"]]["code"]
            assert by_id[second["node_id"]]["approval"] == "rejected"
            assert status["done"]

        async with stdio_session(work, "--human-approval") as s:
            run_id = (await call(s, "run_experiment", task="digits", max_steps=1,
                                 mode="approve"))["run_id"]
            await wait_pending(s, run_id)
            refusal = await tool_error(s, "decide_cell", run_id=run_id, action="approve")
            assert "--human-approval" in refusal
            assert (await call(s, "run_status", run_id=run_id))["pending_approval"]
            await call(s, "stop_run", run_id=run_id)

    anyio.run(main)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-x", "-q"]))



def test_example_notebook_drives_the_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """example_notebooks/05_mcp_server.ipynb runs top to bottom as a new user would."""
    from tests.support.notebooks import execute, tagged, text_of

    nb = execute("05_mcp_server.ipynb", tmp_path, monkeypatch)
    out = text_of(tagged(nb, "check-mcp"))
    assert "tools: read_paper, extract_problem" in out
    assert "status: done | best accuracy" in out
    assert "## Result: digits" in out and "record:" in out and "nbformat 4." in out
    assert "error: read_paper: the paper path '../../etc/passwd' is outside the folders" in out


def test_cli_help_and_bad_address(work: Path) -> None:
    """``mlr-copilot mcp --help`` explains the server; a bad address is one line, exit 1."""
    shown = subprocess.run([*cli_command(), "mcp", "--help"], capture_output=True, text=True,
                           timeout=60, env=server_env(work))
    assert shown.returncode == 0
    for word in ("--http", "--token", "MLR_COPILOT_MCP_TOKEN", "--root", "--human-approval",
                 "run_experiment", "mlr://runs"):
        assert word in shown.stdout
    for address, message in [("127.0.0.1:notaport", "the port is not a number"),
                             ("127.0.0.1:99999", "the port must be 0-65535")]:
        bad = subprocess.run([*cli_command(), "mcp", "--http", address], capture_output=True,
                             text=True, timeout=60, env=server_env(work), cwd=work)
        assert bad.returncode == 1 and message in bad.stderr
        assert bad.stderr.strip().count("\n") == 0 and "Traceback" not in bad.stderr
    short = subprocess.run([*cli_command(), "mcp", "--http", "0.0.0.0:8799", "--token", "short"],
                           capture_output=True, text=True, timeout=60, env=server_env(work))
    assert short.returncode == 1 and "too short" in short.stderr
