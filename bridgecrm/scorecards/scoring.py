"""The scoring math: pure functions over Decimals (no ORM), shared by runs, what-ifs and tests.

Rules (documented in docs/scorecards.md):

* achievement = raw ÷ target (higher is better) or 2 − raw ÷ target, floored at 0 (lower is better),
  rounded to 4 places (ROUND_HALF_UP);
* linear: points = weight × min(achievement, cap); threshold: the weight when achievement ≥ threshold,
  else 0; bands: the weight × the points % of the highest band whose "from" the achievement reaches;
* points are rounded to 2 places (ROUND_HALF_UP); the total is the sum of the rounded points, so the
  breakdown always adds up to the total;
* no raw value (None) or no usable target (None or 0): 0 points, shown as "no data" / "no target";
* ranks: by total, highest first; equal totals share a rank and the next rank skips (1, 1, 3).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

HUNDRED = Decimal(100)
TWO_PLACES = Decimal("0.01")
FOUR_PLACES = Decimal("0.0001")

OK = "ok"
NO_DATA = "no_data"
NO_TARGET = "no_target"


@dataclass(frozen=True)
class Rule:
    code: str
    weight: Decimal  # percent of 100
    direction: str = "higher"
    curve: str = "linear"
    cap: Decimal = Decimal(120)  # percent of target
    threshold: Decimal = Decimal(100)  # percent of target
    bands: tuple[tuple[Decimal, Decimal], ...] = ()  # (from achievement %, points % of weight)
    target_kind: str = "fixed"
    target_value: Decimal | None = None
    kind: str = "result"

    def as_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "weight": str(self.weight),
            "direction": self.direction,
            "curve": self.curve,
            "cap": str(self.cap),
            "threshold": str(self.threshold),
            "bands": [[str(a), str(b)] for a, b in self.bands],
            "target_kind": self.target_kind,
            "target_value": None if self.target_value is None else str(self.target_value),
            "kind": self.kind,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Rule:
        target = data.get("target_value")
        return cls(
            code=str(data["code"]),
            weight=Decimal(str(data["weight"])),
            direction=str(data.get("direction", "higher")),
            curve=str(data.get("curve", "linear")),
            cap=Decimal(str(data.get("cap", "120"))),
            threshold=Decimal(str(data.get("threshold", "100"))),
            bands=tuple((Decimal(str(a)), Decimal(str(b))) for a, b in data.get("bands") or ()),
            target_kind=str(data.get("target_kind", "fixed")),
            target_value=None if target in (None, "") else Decimal(str(target)),
            kind=str(data.get("kind", "result")),
        )


@dataclass(frozen=True)
class MetricScore:
    code: str
    raw: Decimal | None
    target: Decimal | None
    achievement: Decimal | None  # a share: 0.8 is 80 %
    points: Decimal
    weight: Decimal
    status: str  # OK, NO_DATA or NO_TARGET


def achievement(raw: Decimal, target: Decimal, direction: str) -> Decimal:
    ratio = raw / target
    if direction == "lower":
        ratio = max(Decimal(0), 2 - ratio)
    return ratio.quantize(FOUR_PLACES, ROUND_HALF_UP)


def points_for(rule: Rule, reached: Decimal) -> Decimal:
    """Points out of ``rule.weight`` for an achievement share (0.8 = 80 %)."""
    percent = reached * HUNDRED
    if rule.curve == "threshold":
        earned = rule.weight if percent >= rule.threshold else Decimal(0)
    elif rule.curve == "bands":
        earned = Decimal(0)
        for start, share in sorted(rule.bands, key=lambda b: b[0], reverse=True):
            if percent >= start:
                earned = rule.weight * share / HUNDRED
                break
    else:
        earned = rule.weight * min(reached, rule.cap / HUNDRED)
    return earned.quantize(TWO_PLACES, ROUND_HALF_UP)


def score_metric(rule: Rule, raw: Decimal | None, target: Decimal | None) -> MetricScore:
    if raw is None:
        return MetricScore(rule.code, None, target, None, Decimal("0.00"), rule.weight, NO_DATA)
    if target is None or target <= 0:
        return MetricScore(rule.code, raw, target, None, Decimal("0.00"), rule.weight, NO_TARGET)
    reached = achievement(raw, target, rule.direction)
    return MetricScore(rule.code, raw, target, reached, points_for(rule, reached), rule.weight, OK)


def target_for(rule: Rule, rep_target: Decimal | None) -> Decimal | None:
    return rep_target if rule.target_kind == "rep" else rule.target_value


@dataclass
class RepResult:
    user_id: int
    scores: list[MetricScore] = field(default_factory=list)
    total: Decimal = Decimal("0.00")
    rank: int = 0


def score_rep(
    user_id: int, rules: Sequence[Rule], raws: Mapping[str, Decimal | None], targets: Mapping[str, Decimal | None]
) -> RepResult:
    """Score one rep: ``raws`` and ``targets`` by metric code (a target is the one used for the rule)."""
    result = RepResult(user_id)
    for rule in rules:
        result.scores.append(score_metric(rule, raws.get(rule.code), targets.get(rule.code)))
    result.total = sum((s.points for s in result.scores), Decimal("0.00"))
    return result


def competition_ranks(totals: Iterable[tuple[int, Decimal]]) -> dict[int, int]:
    """Standard competition ranking: highest first, ties share a rank, the next rank skips (1, 1, 3)."""
    ordered = sorted(totals, key=lambda t: (-t[1], t[0]))
    ranks: dict[int, int] = {}
    previous: Decimal | None = None
    rank = 0
    for position, (key, total) in enumerate(ordered, start=1):
        if total != previous:
            rank, previous = position, total
        ranks[key] = rank
    return ranks


def check_rules(rules: Sequence[Rule]) -> list[str]:
    """Problems with a set of rules, as codes: ``weights`` (do not add up to exactly 100), ``empty``,
    ``duplicate``, ``bands`` (a bands curve without bands), ``target`` (a fixed target missing or ≤ 0),
    ``negative`` (a weight, cap or threshold below 0)."""
    problems: list[str] = []
    if not rules:
        return ["empty"]
    if sum((r.weight for r in rules), Decimal(0)) != HUNDRED:
        problems.append("weights")
    if len({r.code for r in rules}) != len(rules):
        problems.append("duplicate")
    for r in rules:
        if r.weight <= 0 or r.cap <= 0 or r.threshold < 0:
            problems.append("negative")
        if r.curve == "bands" and (not r.bands or any(a < 0 or b < 0 for a, b in r.bands)):
            problems.append("bands")
        if r.target_kind == "fixed" and (r.target_value is None or r.target_value <= 0):
            problems.append("target")
    return list(dict.fromkeys(problems))


def parse_bands(text: str) -> tuple[tuple[Decimal, Decimal], ...]:
    """``"100:100, 80:60, 50:20"`` → ((100, 100), (80, 60), (50, 20)); ``ValueError`` when malformed."""
    out = []
    for part in text.replace(";", ",").replace("\n", ",").split(","):
        part = part.strip()
        if not part:
            continue
        start, _sep, share = part.partition(":")
        if not _sep:
            raise ValueError(part)
        out.append((Decimal(start.strip()), Decimal(share.strip())))
    return tuple(sorted(out, key=lambda b: b[0], reverse=True))


def bands_text(bands: Iterable[Sequence[Any]]) -> str:
    return ", ".join(f"{a}:{b}" for a, b in bands)
