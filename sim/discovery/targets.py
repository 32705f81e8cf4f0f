"""Targets of scenario discovery: ``METRIC[region,segment,year] OP NUMBER``, clauses joined by ``and``, and the
named ready questions.

The grammar is parsed with one regular expression per clause, never evaluated as code; metrics, regions and
segments are checked against `sim.api.metric_catalogue()` and years against the scenario's run. This module
imports `sim.api` only when it checks, so the command line's parser can read the named targets and defaults
without loading the model.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

DEFAULT_SAMPLES = 160  # with 10 replicates: under a minute for a ready question in one process (~0.25 s a draw)
DEFAULT_REPLICATES = 10  # fewer shift every draw with the shared replicate seeds' luck (sim.discovery.confidence)
MAX_SAMPLES = 100_000


def _input_error(detail: str, option: str) -> Exception:
    from sim.api import InputError

    return InputError(detail, key=option)


OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
}
_NAME = r"[a-z][a-z0-9_]*"
_CLAUSE = re.compile(
    rf"\s*(?P<metric>{_NAME})\s*\[\s*(?P<region>{_NAME})\s*,\s*(?P<segment>{_NAME})\s*,\s*(?P<year>[0-9]{{4}})\s*\]"
    r"\s*(?P<op>>=|<=|>|<)\s*(?P<number>[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)\s*"
)
GRAMMAR = (
    "write METRIC[region,segment,year] OP NUMBER, with OP one of >=, <=, >, <, clauses joined by the word and "
    "(e.g. output_value[suining,all,2030] >= 1000), or a named target"
)
MAX_TARGET = 1000  # characters of a target expression


@dataclasses.dataclass(frozen=True)
class Clause:
    metric: str
    region: str
    segment: str
    year: int
    op: str
    number: float

    @property
    def column(self) -> str:
        """The clause's figure as a samples.csv column."""
        return f"{self.metric}[{self.region},{self.segment},{self.year}]"

    def holds(self, value: float) -> bool:
        return bool(math.isfinite(value) and OPERATORS[self.op](value, self.number))

    def __str__(self) -> str:
        return f"{self.column} {self.op} {self.number:g}"


@dataclasses.dataclass(frozen=True)
class Target:
    """A parsed target: clauses that must all hold, and its words."""

    clauses: tuple[Clause, ...]
    text: str
    name: str = ""
    question_en: str = ""
    question_zh: str = ""

    @property
    def years(self) -> list[int]:
        return sorted({c.year for c in self.clauses})

    def holds(self, figures: Mapping[str, float]) -> bool:
        """Whether every clause holds for ``figures`` (clause column -> value)."""
        return all(c.holds(figures[c.column]) for c in self.clauses)

    def question(self, lang: str = "en") -> str:
        if lang == "zh" and self.question_zh:
            return self.question_zh
        return self.question_en or " and ".join(map(str, self.clauses))

    def check_years(self, scenario: Any, option: str = "--target") -> None:
        """Every clause's year lies in the scenario's run."""
        years = scenario.years
        for clause in self.clauses:
            if clause.year not in years:
                raise _input_error(
                    f"year {clause.year} is outside the run of scenario '{scenario.name}' ({years[0]}-{years[-1]}); "
                    f"{GRAMMAR}",
                    option,
                )


@dataclasses.dataclass(frozen=True)
class NamedTarget:
    """A ready question: the expression, its words, and the library scenario it is best asked of."""

    expression: str
    question_en: str
    question_zh: str
    scenario: str


NAMED_TARGETS: dict[str, NamedTarget] = {
    "revenue_1000": NamedTarget(
        "output_value[suining,all,2030] >= 1000",
        "Suining lithium revenue (gross output value) at least 1,000 亿元 in 2030",
        "2030年遂宁锂电产业产值（营收）达到1000亿元",
        "plan_capacity",
    ),
    "lfp_share_15": NamedTarget(
        "national_share[suining,lfp_cathode,2030] >= 15",
        "Suining at least 15% of China's LFP cathode output in 2030",
        "2030年遂宁磷酸铁锂正极产量占全国15%以上",
        "policy_package",  # about 15% in its mean: it holds in some draws and not in others
    ),
}


def parse_target(text: str, option: str = "--target") -> Target:
    """A target from its text: a named target (`NAMED_TARGETS`) or clauses joined by ``and``.

    Raises:
        InputError: naming ``option``, what is wrong and what is allowed.
    """
    if not isinstance(text, str) or not text.strip():
        raise _input_error(f"the target is empty; {GRAMMAR} ({', '.join(NAMED_TARGETS)})", option)
    if len(text) > MAX_TARGET:
        raise _input_error(f"the target is longer than {MAX_TARGET} characters; {GRAMMAR}", option)
    named = NAMED_TARGETS.get(text.strip())
    if named is not None:
        parsed = parse_target(named.expression, option)
        return dataclasses.replace(
            parsed, text=text.strip(), name=text.strip(), question_en=named.question_en, question_zh=named.question_zh
        )
    from sim.api import metric_catalogue

    catalogue = metric_catalogue()
    metrics = sorted({m for _, _, m in catalogue})
    clauses = []
    for part in re.split(r"\band\b", text):
        m = _CLAUSE.fullmatch(part)
        if m is None:
            hint = (
                f"'{text.strip()}' is neither a named target ({', '.join(NAMED_TARGETS)}) nor an expression"
                if "[" not in text
                else f"cannot read '{part.strip()}'"
            )
            raise _input_error(f"{hint}; {GRAMMAR}", option)
        metric, region, segment = m.group("metric"), m.group("region"), m.group("segment")
        if metric not in metrics:
            raise _input_error(f"unknown metric '{metric}'; metrics: {', '.join(metrics)}", option)
        if (region, segment, metric) not in catalogue:
            places = sorted(f"{r},{s}" for r, s, mm in catalogue if mm == metric)
            raise _input_error(
                f"{metric} has no figure for region '{region}', segment '{segment}'; it has: {'; '.join(places)}",
                option,
            )
        number = float(m.group("number"))
        if not math.isfinite(number):
            raise _input_error(f"the number in '{part.strip()}' is not finite; {GRAMMAR}", option)
        clauses.append(Clause(metric, region, segment, int(m.group("year")), m.group("op"), number))
    return Target(tuple(clauses), text.strip())
