"""Settings: one traitlets ``Configurable`` shared by the API, magics and CLI.

Precedence, lowest first: trait defaults < environment variables < ``%config`` / CLI flags.
The API key is deliberately *not* a trait: traits are printed by ``%config MLRCopilot``, saved in
config files and echoed in notebooks. The key is read from the environment variable named by
``api_key_env`` at the moment a request is made, and only whether it is set is ever shown.
"""

from __future__ import annotations

import argparse
import functools
import html
import json
import math
import os
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from traitlets import Bool, CaselessStrEnum, Dict, Float, Int, Unicode, default, validate
from traitlets.config import Configurable

from .errors import ConfigError

#: How the kernels that run generated code are confined (``--sandbox``, declared in options_spec)
SANDBOX_MODES = ("auto", "require", "off")

DEFAULT_MODEL = "gpt-4o-mini"

#: Output caps (tokens) per call kind, sized for what each schema holds. The kind is a call's
#: label up to its first "-" ("plan-2" -> "plan").
DEFAULT_OUTPUT_CAPS: dict[str, int] = {
    "problem": 1500,
    "hypothesis": 700,
    "plan": 1200,
    "directions": 600,
    "review": 600,
    "draft": 2500,
    "improve": 2500,
    "debug": 2500,
    "metric": 300,
    "hyde": 300,
    "check": 64,  # a reasoning model thinks before its one word
}

#: The endpoint a backend setting means when base_url is empty (shown in the status).
DEFAULT_BASE_URLS = {"openai": "https://api.openai.com/v1"}

ENV_VARS = {
    "backend": "MLR_COPILOT_BACKEND",
    "model": "MLR_COPILOT_MODEL",
    "base_url": "OPENAI_BASE_URL",
    "run_dir": "MLR_COPILOT_RUN_DIR",
    "step_format": "MLR_COPILOT_STEP_FORMAT",
    "output_cap_limit": "MLR_COPILOT_MAX_OUTPUT_TOKENS",
}


#: The entry-point group backends register under (``llm/registry.py`` builds them from it).
BACKEND_GROUP = "mlr_copilot_jupyter.backends"
_declared_backends: set[str] = set()


def declare_backend(name: str) -> None:
    """Make ``name`` a valid backend setting (a backend the registry holds without an entry point)."""
    _declared_backends.add(name)


@functools.lru_cache(maxsize=8)
def _entry_point_backends(path: tuple[str, ...]) -> frozenset[str]:
    return frozenset(ep.name for ep in entry_points(group=BACKEND_GROUP))


def backend_names() -> list[str]:
    """The registered backend names (entry points of :data:`BACKEND_GROUP`, and any declared in
    code), sorted; the setting also accepts "auto"."""
    return sorted(_entry_point_backends(tuple(sys.path)) | _declared_backends)


def check_backend(value: str, *, source: str | None = None) -> str:
    """``value`` as a backend setting ("auto" or a registered name, any case), else one line
    naming the registered backends (``source`` names where the value came from)."""
    name = value.strip().lower() or "auto"
    if name == "auto":
        return name
    names = backend_names()
    match = next((n for n in names if n.lower() == name), None)
    if match is None:
        choices = ["auto", *names]
        raise ConfigError(f"{source + '=' if source else ''}{name!r} is not a backend",
                          hint="use " + ", ".join(choices[:-1]) + " or " + choices[-1])
    return match


def backend_argument(value: str) -> str:
    """The ``type=`` of a ``--backend`` option: :func:`check_backend`, as argparse's error."""
    try:
        return check_backend(value)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


class MLRCopilot(Configurable):
    """Settings of mlr-copilot-jupyter (``%config MLRCopilot.<name> = value`` in IPython)."""

    backend = Unicode(
        "auto",
        help="LLM backend: 'openai' (any OpenAI-compatible endpoint), 'offline' (the no-LLM "
        "heuristic engine), 'auto' (openai when an endpoint or key is configured, else offline) or "
        "the name of a backend registered under the entry-point group "
        "mlr_copilot_jupyter.backends. Env: MLR_COPILOT_BACKEND.",
    ).tag(config=True)
    model = Unicode(help="Model name sent to the endpoint. Env: MLR_COPILOT_MODEL.").tag(config=True)
    base_url = Unicode(
        help="Base URL of an OpenAI-compatible endpoint, e.g. http://localhost:8000/v1 for vLLM, "
        "http://localhost:11434/v1 for Ollama. Empty means OpenAI's own. Env: OPENAI_BASE_URL."
    ).tag(config=True)
    api_key_env = Unicode(
        "OPENAI_API_KEY",
        help="Name of the environment variable holding the API key. The key itself is never "
        "stored in settings, files or notebooks.",
    ).tag(config=True)
    temperature = Float(0.7, help="Sampling temperature for generation calls.").tag(config=True)
    request_timeout = Float(120.0, help="Seconds before one LLM request times out.").tag(config=True)
    max_retries = Int(
        5, help="Retries of one LLM request on 429, 5xx, connection errors and timeouts."
    ).tag(config=True)
    schema_retries = Int(
        2, help="Times a reply that fails schema validation is re-asked with the error."
    ).tag(config=True)
    backoff_base = Float(0.5, help="First retry delay in seconds; doubles each retry.").tag(config=True)
    backoff_max = Float(30.0, help="Largest retry delay in seconds.").tag(config=True)
    structured_mode = CaselessStrEnum(
        ["auto", "json_schema", "tool", "json_object", "prompt"],
        "auto",
        help="How structured output is requested: response_format json_schema, a forced tool "
        "call, json_object, or instructions in the prompt only. 'auto' starts with json_schema "
        "and falls back when the server rejects it.",
    ).tag(config=True)
    step_format = CaselessStrEnum(
        ["json", "markdown"],
        "json",
        help="How the experiment asks for a step's code: 'json' (structured output; a reply "
        "that holds a ```python block instead is still taken) or 'markdown' (a title, a plan "
        "and one ```python block, as AIDE asks; no schema sent). Env: MLR_COPILOT_STEP_FORMAT.",
    ).tag(config=True)
    concurrency = Int(5, help="Largest number of LLM calls in flight at once.").tag(config=True)
    max_output_tokens = Int(
        2048,
        help="Output cap (max_tokens) of a call whose kind has no entry in max_output_tokens_by_kind.",
    ).tag(config=True)
    max_output_tokens_by_kind = Dict(
        default_value=dict(DEFAULT_OUTPUT_CAPS),
        help="Output cap per call kind (problem, hypothesis, plan, directions, review, draft, "
        "improve, debug, metric, hyde, check); values given here merge over the defaults.",
    ).tag(config=True)
    output_cap_limit = Int(
        0,
        help="A ceiling on every call's output cap, over max_output_tokens and "
        "max_output_tokens_by_kind (0: no ceiling). A slow local model that repeats itself "
        "until the cap spends minutes per call at the default caps (2500 tokens for code); "
        "e.g. 600 bounds each call. Env: MLR_COPILOT_MAX_OUTPUT_TOKENS.",
    ).tag(config=True)
    context_window = Int(
        0,
        help="The model's context window in tokens; 0 learns it from the server (llama.cpp "
        "/props, vLLM /v1/models, Ollama /api/show) where it says.",
    ).tag(config=True)
    stream = Bool(
        True,
        help="Stream replies when someone watches them (a token callback or a progress display).",
    ).tag(config=True)
    run_dir = Unicode(help="Folder for runs and research state. Env: MLR_COPILOT_RUN_DIR.").tag(
        config=True
    )
    verbose = Bool(False, help="Log each LLM call (never its key) to the mlr_copilot logger.").tag(
        config=True
    )

    sandbox = CaselessStrEnum(
        list(SANDBOX_MODES),
        help="How kernels that run generated code are confined: 'auto' (bubblewrap when it "
        "works, else unconfined with one warning), 'require' (refuse to run without it) or "
        "'off'. Env: MLR_COPILOT_SANDBOX.",
    ).tag(config=True)
    sandbox_network = Bool(
        False, help="Let sandboxed kernels reach the network (plans that must download); only "
        "this restriction is lifted.",
    ).tag(config=True)

    @default("sandbox")
    def _default_sandbox(self) -> str:
        value = os.environ.get("MLR_COPILOT_SANDBOX", "auto").strip().lower() or "auto"
        if value not in SANDBOX_MODES:
            raise ConfigError(f"MLR_COPILOT_SANDBOX={value!r} is not a sandbox mode",
                              hint=f"use {', '.join(SANDBOX_MODES)}")
        return value

    # -- budgets of a stage (issue #15): token / cost budget, prices, deadline ---------------
    token_budget = Int(
        0, help="Largest number of LLM tokens (prompt + completion) one experiment run may use; "
        "the run stops cleanly when it is reached. 0 = none. Env: MLR_COPILOT_TOKEN_BUDGET."
    ).tag(config=True)
    cost_budget = Float(
        0.0, help="Largest LLM cost of one experiment run, in the currency of the prices below "
        "(needs a price). 0 = none. Env: MLR_COPILOT_COST_BUDGET."
    ).tag(config=True)
    price_per_1k_prompt = Float(
        0.0, help="Price of 1000 prompt tokens, for costs in reports and --cost-budget. "
        "0 = unknown. Env: MLR_COPILOT_PRICE_PER_1K_PROMPT."
    ).tag(config=True)
    price_per_1k_completion = Float(
        0.0, help="Price of 1000 completion tokens. 0 = unknown. "
        "Env: MLR_COPILOT_PRICE_PER_1K_COMPLETION."
    ).tag(config=True)
    deadline = Float(
        0.0, help="Wall-clock seconds one stage (an experiment run, the ideas or problem "
        "command) may take; --timeout stays per request. 0 = none. Env: MLR_COPILOT_DEADLINE."
    ).tag(config=True)

    @staticmethod
    def _budget_env(name: str) -> float:
        """A budget from the environment: a number >= 0, empty or unset meaning 0 (none)."""
        raw = os.environ.get(name, "").strip()
        try:
            value = float(raw) if raw else 0.0
        except ValueError:
            raise ConfigError(f"{name}={raw!r} is not a number") from None
        if not math.isfinite(value) or value < 0:
            raise ConfigError(f"{name}={raw!r} must be a number >= 0 (0 = none)")
        return value

    @default("token_budget")
    def _default_token_budget(self) -> int:
        return int(self._budget_env("MLR_COPILOT_TOKEN_BUDGET"))

    @default("cost_budget")
    def _default_cost_budget(self) -> float:
        return self._budget_env("MLR_COPILOT_COST_BUDGET")

    @default("price_per_1k_prompt")
    def _default_price_prompt(self) -> float:
        return self._budget_env("MLR_COPILOT_PRICE_PER_1K_PROMPT")

    @default("price_per_1k_completion")
    def _default_price_completion(self) -> float:
        return self._budget_env("MLR_COPILOT_PRICE_PER_1K_COMPLETION")

    @default("deadline")
    def _default_deadline(self) -> float:
        return self._budget_env("MLR_COPILOT_DEADLINE")

    @validate("token_budget", "cost_budget", "price_per_1k_prompt", "price_per_1k_completion",
              "deadline")
    def _check_budget(self, proposal: Any) -> float:
        value = proposal["value"]
        if not math.isfinite(float(value)) or value < 0:
            raise ConfigError(f"{proposal['trait'].name} must be a finite number >= 0 "
                              f"(0 = none), got {value}")
        return value  # type: ignore[no-any-return]

    def limits(self) -> Any:
        """The budgets as :class:`~mlr_copilot_jupyter.budget.Limits` (0 becomes None)."""
        from .budget import Limits, Prices

        return Limits(token_budget=self.token_budget or None, cost_budget=self.cost_budget or None,
                      deadline=self.deadline or None,
                      prices=Prices(self.price_per_1k_prompt, self.price_per_1k_completion))
    # -- end of budgets ----------------------------------------------------------------------

    @default("backend")
    def _default_backend(self) -> str:
        return check_backend(os.environ.get(ENV_VARS["backend"], "auto"),
                             source=ENV_VARS["backend"])

    @validate("backend")
    def _check_backend(self, proposal: Any) -> str:
        return check_backend(str(proposal["value"]), source="backend")

    @default("model")
    def _default_model(self) -> str:
        return os.environ.get(ENV_VARS["model"], "").strip() or DEFAULT_MODEL

    @default("base_url")
    def _default_base_url(self) -> str:
        return os.environ.get(ENV_VARS["base_url"], "").strip()

    @default("step_format")
    def _default_step_format(self) -> str:
        value = os.environ.get(ENV_VARS["step_format"], "").strip().lower() or "json"
        if value not in {"json", "markdown"}:
            raise ConfigError(f"MLR_COPILOT_STEP_FORMAT={value!r} is not a step format",
                              hint="use json or markdown")
        return value

    @default("output_cap_limit")
    def _default_output_cap_limit(self) -> int:
        name = ENV_VARS["output_cap_limit"]
        raw = os.environ.get(name, "").strip()
        if not raw:
            return 0
        try:
            value = int(raw)
        except ValueError:
            value = -1
        if value < 0:
            raise ConfigError(f"{name}={raw!r} is not a token count",
                              hint="use a whole number >= 1, or 0 for no ceiling")
        return value

    @default("run_dir")
    def _default_run_dir(self) -> str:
        return os.environ.get(ENV_VARS["run_dir"], "").strip() or "runs"

    @validate("temperature")
    def _check_temperature(self, proposal: Any) -> float:
        value = float(proposal["value"])
        if not 0.0 <= value <= 2.0:  # also refuses NaN
            raise ConfigError(f"temperature {value} is outside 0..2")
        return value

    @validate("request_timeout", "backoff_base", "backoff_max")
    def _check_positive(self, proposal: Any) -> float:
        value = float(proposal["value"])
        if not math.isfinite(value) or value <= 0:
            raise ConfigError(f"{proposal['trait'].name} must be a finite number > 0, got {value}")
        return value

    @validate("max_retries", "schema_retries")
    def _check_retries(self, proposal: Any) -> int:
        value = int(proposal["value"])
        if value < 0:
            raise ConfigError(f"{proposal['trait'].name} must be >= 0, got {value}")
        return value

    @validate("max_output_tokens", "context_window", "output_cap_limit")
    def _check_tokens(self, proposal: Any) -> int:
        value = int(proposal["value"])
        least = 0 if proposal["trait"].name in ("context_window", "output_cap_limit") else 1
        if value < least:
            raise ConfigError(f"{proposal['trait'].name} must be >= {least}, got {value}")
        return value

    @validate("max_output_tokens_by_kind")
    def _merge_caps(self, proposal: Any) -> dict[str, int]:
        merged = dict(DEFAULT_OUTPUT_CAPS)
        for kind, value in dict(proposal["value"]).items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"max_output_tokens_by_kind[{kind!r}] must be an int >= 1, got {value!r}")
            merged[str(kind)] = value
        return merged

    @validate("concurrency")
    def _check_concurrency(self, proposal: Any) -> int:
        value = int(proposal["value"])
        if value < 1:
            raise ConfigError(f"concurrency must be >= 1, got {value}")
        return value

    # -- derived values -------------------------------------------------------------------------
    def api_key(self) -> str | None:
        """The API key from the environment, or None. Never store or print the result."""
        key = os.environ.get(self.api_key_env, "").strip()
        return key or None

    def resolved_backend(self) -> str:
        """The backend actually used: 'auto' becomes 'openai' when an endpoint or key is set."""
        if self.backend != "auto":
            return self.backend
        return "openai" if (self.base_url or self.api_key()) else "offline"

    def output_cap(self, kind: str) -> int:
        """The output cap (max_tokens) of a call kind: its entry in max_output_tokens_by_kind, else
        max_output_tokens; never over output_cap_limit when that is set."""
        cap = int(self.max_output_tokens_by_kind.get(kind, self.max_output_tokens))
        return min(cap, self.output_cap_limit) if self.output_cap_limit > 0 else cap

    def run_path(self) -> Path:
        """The run directory as an absolute path (not created)."""
        return Path(self.run_dir).expanduser().resolve()

    def status(self) -> dict[str, Any]:
        """What is configured, safe to show: the key appears only as set yes/no."""
        backend = self.resolved_backend()
        return {
            "backend": backend,
            "backend_setting": self.backend,
            "model": self.model,
            "base_url": self.base_url or DEFAULT_BASE_URLS.get(backend),
            "api_key_set": self.api_key() is not None,
            "api_key_env": self.api_key_env,
            "temperature": self.temperature,
            "request_timeout": self.request_timeout,
            "max_retries": self.max_retries,
            "structured_mode": self.structured_mode,
            "concurrency": self.concurrency,
            "run_dir": str(self.run_path()),
        }

    def status_table(self, notes: tuple[str, str] = ("", "")) -> StatusTable:
        """The status as a table that renders as HTML in notebooks and as text elsewhere;
        ``notes`` are what the backend says after its name and after the model
        (``llm.backends.status_notes``)."""
        return StatusTable(self.status(), notes)


class StatusTable:
    """Rich display of the configuration status."""

    def __init__(self, status: dict[str, Any], notes: tuple[str, str] = ("", "")) -> None:
        self.status = status
        self.notes = notes

    def rows(self) -> list[tuple[str, str]]:
        s = self.status
        backend_note, model_note = self.notes
        backend = s["backend"]
        if s["backend_setting"] == "auto":
            backend += " (auto)"
        if backend_note:
            backend += f" — {backend_note}"
        return [
            ("backend", backend),
            ("model", s["model"] + (f" ({model_note})" if model_note else "")),
            ("base_url", s["base_url"] or "—"),
            ("api_key_set", f"{'yes' if s['api_key_set'] else 'no'} (${s['api_key_env']})"),
            ("temperature", f"{s['temperature']:g}"),
            ("request_timeout", f"{s['request_timeout']:g} s"),
            ("max_retries", str(s["max_retries"])),
            ("structured_mode", s["structured_mode"]),
            ("concurrency", str(s["concurrency"])),
            ("run_dir", s["run_dir"]),
        ]

    def __repr__(self) -> str:
        rows = self.rows()
        width = max(len(k) for k, _ in rows)
        return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)

    def _repr_html_(self) -> str:
        body = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
            f"<td style='text-align:left'>{html.escape(v)}</td></tr>"
            for k, v in self.rows()
        )
        return f"<table class='mlr-copilot-status'><caption>MLR Copilot</caption>{body}</table>"

    def to_json(self) -> str:
        return json.dumps(self.status, indent=2)
