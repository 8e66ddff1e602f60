"""Kernel plumbing shared by the experiment executor and batch runs.

- :mod:`.manager`: the kernel manager (private sockets, resource limits, kernel log) and clean-up;
- :mod:`.transport`: IPC sockets in a private folder, CurveZMQ when available;
- :mod:`.launcher`: the resource-limit prefix, the kernel's environment and working folder;
- :mod:`.rlimits`: the standard-library-only script that applies the limits;
- :mod:`.environment`: scrubbing secret-looking variables;
- :mod:`.metric_line`: the ``MLR_METRIC {...}`` line, its parser and the ``report_metric`` prelude.

This package imports nothing from ``experiment``, ``batch``, ``ideas`` or any surface (the
import-linter contracts in ``pyproject.toml``). Import the modules themselves: this one imports
nothing, so that reading metric lines does not pull in jupyter_client or zmq.
"""
