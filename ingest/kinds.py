"""The kinds of a figure (実績, 決算, 予算, 見込, …): the words sheets and questions name them with,
and which kind may stand in for another. The one place both ingest and the assistant read them.
"""

from __future__ import annotations

import unicodedata

from .records import Kind

# As sheets and questions write them. Where one word contains another, the longer comes first
# (決算見込 before 決算, 見込): the first word found in a column heading decides its kind.
KIND_WORDS: tuple[tuple[str, Kind], ...] = (
    ("決算見込", Kind.SETTLED_ESTIMATE),
    ("達成率", Kind.ACHIEVEMENT),
    ("決算", Kind.SETTLED),
    ("予算", Kind.BUDGET),
    ("実績", Kind.ACTUAL),
    ("見込", Kind.ESTIMATE),
    ("計画", Kind.PLAN),
    ("目標", Kind.TARGET),
)
KIND_PATTERN = "|".join(w for w, _ in KIND_WORDS)  # a regex alternation, longer words first
KIND_OF_WORD: dict[str, Kind] = dict(KIND_WORDS)

# One sheet: kinds that answer for the asked one when it is not printed. A settled account is the
# year's actual, a plan is the year's budget, an estimate is the settled estimate.
STANDS_IN: dict[Kind, tuple[Kind, ...]] = {
    Kind.SETTLED: (Kind.ACTUAL, Kind.SETTLED_ESTIMATE),
    Kind.ACTUAL: (Kind.SETTLED,),
    Kind.BUDGET: (Kind.PLAN,),
    Kind.PLAN: (Kind.BUDGET,),
    Kind.ESTIMATE: (Kind.SETTLED_ESTIMATE,),
    Kind.SETTLED_ESTIMATE: (Kind.ESTIMATE,),
}

# Across sheets: the kinds one comparison may put side by side as the same figure (forms print the
# year's result as 実績 or as 決算, its plan as 予算 or as 計画). Narrower than STANDS_IN: a settled
# estimate is not compared with another sheet's settled account.
SAME_FIGURE: dict[Kind, tuple[Kind, ...]] = {
    Kind.SETTLED: (Kind.SETTLED, Kind.ACTUAL), Kind.ACTUAL: (Kind.ACTUAL, Kind.SETTLED),
    Kind.BUDGET: (Kind.BUDGET, Kind.PLAN), Kind.PLAN: (Kind.PLAN, Kind.BUDGET),
    Kind.ESTIMATE: (Kind.ESTIMATE, Kind.SETTLED_ESTIMATE),
    Kind.SETTLED_ESTIMATE: (Kind.SETTLED_ESTIMATE, Kind.ESTIMATE),
}


def parse_kind(text: str, default: Kind = Kind.UNKNOWN) -> Kind:
    """The kind a column heading or label names (「令和5年度決算見込」 -> SETTLED_ESTIMATE)."""
    t = unicodedata.normalize("NFKC", text)
    for word, kind in KIND_WORDS:
        if word in t:
            return kind
    return default
