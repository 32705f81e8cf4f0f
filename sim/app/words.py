"""The workbench's words: read from the message catalogue (`sim.inputs.catalogue`, its ``app.`` entries and the
Chinese of what controls and levers declare), where every word a reader sees is kept in one table."""

from __future__ import annotations

from functools import cache

from sim.inputs import catalogue


@cache
def words(lang: str) -> dict[str, str]:
    """The workbench's words in ``lang`` ("en" or "zh"; anything else reads English), by key."""
    return catalogue.workbench(lang if lang in catalogue.LANGUAGES else "en")


def metric_name(lang: str, metric: str) -> str:
    """A metric's label: the workbench's own for the figures it adds (``net_fiscal``), else the outputs' labels."""
    if metric in ("net_fiscal",):
        return words(lang)[metric]
    return catalogue.metric(lang, metric)


def explanation(key: str, english: str, lang: str) -> str:
    """What control ``key`` means, in ``lang`` (`sim.inputs.catalogue.declared`)."""
    return catalogue.declared(lang, key, english)


def lever_source(lever: str, english: str, lang: str) -> str:
    """Where lever ``lever`` comes from, in ``lang`` (`sim.inputs.catalogue.lever_source`)."""
    return catalogue.lever_source(lang, lever, english)
