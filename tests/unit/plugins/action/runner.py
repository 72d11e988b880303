"""Run an action plugin as a task would, without a connection (shared by the action tests)."""

from __future__ import annotations

from unittest.mock import MagicMock


def run_action(cls, args, task_vars=None, check_mode=False):
    task = MagicMock()
    task.args = args
    task.async_val = 0
    task.check_mode = check_mode
    connection = MagicMock()
    connection._shell.tmpdir = "/nonexistent"
    action = cls(task, connection, MagicMock(), loader=None, templar=None, shared_loader_obj=None)
    return action.run(task_vars=task_vars or {})
