"""What the page says when something fails: an input error's own one-paragraph message; anything else is logged
on the server with its traceback, and the page says only that it happened (never a traceback, nor the server's
file paths in one)."""

from __future__ import annotations

import logging

from sim.api import InputError

logger = logging.getLogger("lithium_sim.app")

INTERNAL = (
    "The workbench met an internal error and wrote it to the server's log; if it happens "
    "again, please report what you did. "
    "工作台遇到内部错误，已记录在服务器日志中；如再次出现，请报告操作步骤。"
)


def message(error: BaseException) -> str:
    """What the page says about ``error``: an input error's own message, else `INTERNAL` (and it is logged)."""
    if isinstance(error, InputError):
        return error.message
    logger.error("the workbench's page failed", exc_info=(type(error), error, error.__traceback__))
    return INTERNAL
