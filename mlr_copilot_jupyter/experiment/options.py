"""Options, hooks and human decisions of one experiment run."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from ..llm.budget import Limits, Prices
from ..options_spec import MAX_STEPS, check_run_fields
from .journal import Node

EventHook = Callable[[str, dict[str, Any]], Any]


def check_max_steps(max_steps: int | None) -> int | None:
    """``--max-steps``' one range check (``options_spec.MAX_STEPS``): None (the task's
    default) or a count in 0..200, as on the CLI, the magics, MCP and task.toml."""
    return MAX_STEPS.check(max_steps)  # type: ignore[no-any-return]


@dataclass
class Approval:
    """A human's decision on a proposed code cell."""

    action: Literal["approve", "edit", "reject"]
    code: str | None = None
    comment: str = ""


ApproveHook = Callable[[Node], "Approval | Awaitable[Approval]"]


@dataclass
class RunOptions:
    """Budgets and behaviour of one run.

    ``max_steps``, ``cell_timeout`` and ``wall_time`` left at None take the task's ``[budget]``:
    the runner fills them (:func:`.runner.fill_task_defaults`, on new runs and on resume) before
    an agent sees the options.
    """

    max_steps: int | None = None
    mode: Literal["auto", "approve"] = "auto"
    num_drafts: int = 3
    max_debug_depth: int = 3
    seed: int = 0
    cell_timeout: float | None = None
    wall_time: float | None = None
    verify: bool = True
    max_verify: int = 3
    rel_tol: float = 0.01
    abs_tol: float = 1e-4
    kernel_name: str = "python3"
    memory_limit_mb: int | None = None
    cpu_time_limit_s: int | None = None
    extra_env_deny: tuple[str, ...] = ()
    max_llm_failures: int = 3  # consecutive unusable LLM replies before the run ends
    token_budget: int | None = None  # LLM tokens of the whole run (resumes included)
    cost_budget: float | None = None  # LLM cost of the whole run, needs a price
    deadline: float | None = None  # wall-clock seconds from the start (or resume) of the run
    price_per_1k_prompt: float = 0.0
    price_per_1k_completion: float = 0.0
    sandbox: str = "auto"  # auto | require | off: how the run's kernels are confined
    sandbox_network: bool = False  # --allow-network: the sandbox keeps the host's network

    def __post_init__(self) -> None:
        """Refuse values that would silently switch a limit off (negative, zero, NaN)."""
        from ..errors import InputError

        def positive(flag: str, value: float | None, unit: str) -> None:
            if value is not None and not (math.isfinite(value) and value > 0):
                raise InputError(f"{flag} must be a positive number of {unit}, got {value}")

        positive("--wall-time", self.wall_time, "seconds")
        positive("--cpu-time-limit", self.cpu_time_limit_s, "seconds")
        check_run_fields(self)  # the options a surface declares: their spec's one check each
        self.limits()  # refuses a non-positive budget or a cost budget without prices

    def budgets(self) -> tuple[int, float, float]:
        """``(max_steps, cell_timeout, wall_time)`` of options the runner has filled."""
        if self.max_steps is None or self.cell_timeout is None or self.wall_time is None:
            raise ValueError("RunOptions without max_steps, cell_timeout or wall_time: the runner "
                             "fills them from the task (runner.fill_task_defaults)")
        return self.max_steps, self.cell_timeout, self.wall_time

    def limits(self) -> Limits:
        return Limits(token_budget=self.token_budget, cost_budget=self.cost_budget,
                      deadline=self.deadline,
                      prices=Prices(self.price_per_1k_prompt, self.price_per_1k_completion))


@dataclass
class Hooks:
    on_event: EventHook | None = None
    approve: ApproveHook | None = None
    extra: dict[str, Any] = field(default_factory=dict)
