"""What a model or dataset search returns: a :class:`Candidate`, and the kinds there are.

Below both the ranking (:mod:`.rank`) and the sources (:mod:`.sources`, :mod:`.hub`), which
build and order candidates; :mod:`.sources` re-exports these names.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Kind = Literal["model", "dataset"]
KINDS: tuple[str, ...] = ("model", "dataset")


class Candidate(BaseModel):
    """One model or dataset the ExperimentAgent could use."""

    id: str
    kind: Kind
    source: Literal["hub", "local"]
    description: str = ""
    task: str | None = Field(default=None, description="task or Hub pipeline_tag")
    tags: list[str] = Field(default_factory=list)
    downloads: int | None = None
    likes: int | None = None
    score: float = 0.0
    usage: str = Field(default="", description="one line of code that loads or builds it")
    url: str | None = None
    #: extra text the ranking indexes (e.g. a docstring's first paragraph); not shown or saved
    search_text: str = Field(default="", exclude=True, repr=False)


def check_kind(kind: str) -> Kind:
    from ..errors import InputError

    if kind not in KINDS:
        raise InputError(f"unknown kind {kind!r}; use 'model' or 'dataset'")
    return kind  # type: ignore[return-value]
