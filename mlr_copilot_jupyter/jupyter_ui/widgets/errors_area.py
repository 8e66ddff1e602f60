"""An error line for widgets: callbacks' errors are shown on the widget, never lost in the comm."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import ipywidgets as w

from ...errors import MLRCopilotError


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


class ErrorArea:
    """Mixin: ``error_html`` shows the last error of a guarded callback as one line."""

    error_html: w.HTML

    def show_error(self, message: str) -> None:
        self.error_html.value = f"<span style='color:#c62828'>⚠ {esc(message)}</span>"

    def _guarded(self, action: Callable[[], Any]) -> Callable[..., None]:
        """Wrap a callback so that its errors appear on the widget instead of the comm log."""

        def handler(*_: Any) -> None:
            self.error_html.value = ""
            try:
                action()
            except MLRCopilotError as exc:
                self.show_error(exc.one_line())
            except Exception as exc:  # anything else must still be visible
                self.show_error(f"{type(exc).__name__}: {exc}")

        return handler
