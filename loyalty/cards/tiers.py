"""Tier evaluation: set-based SQL generated from the tier rules (rows of TierCriterion).

One metrics query says, per current card, what each criterion kind measures (units owned,
units delivered, total contract value, stage, signed referrals) and any staff assignment in
force. The rules become one CASE, so the first matching criterion, highest tier first, is the
"why". Three modes share it:
- `upgrade`: on an event (import, signed referral, nightly stage change) a tier only rises;
- `review`: the yearly review (January 1st by default) sets every tier to what the rules say,
  down as well as up — the only time a tier falls, apart from an assignment ending;
- `settle`: after an assignment ends, the tier becomes the higher of the rules and the tier
  the member held before the assignment (so the end of a favour is not a mid-year downgrade).
Work goes in chunks of card ids, one transaction each, so a million members need no single
giant transaction and the CLI can show progress.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Callable, Mapping, Sequence

from dateutil.relativedelta import relativedelta

from loyalty import clock, db
from loyalty.cards.tables import CRITERION_KINDS, TIER_RANK, TIERS, Card, TierCriterion
from loyalty.members.stages import STAGES
from loyalty.referrals import service as referrals_service

MODES = ("upgrade", "review", "settle")
CHUNK = 50_000


@dataclass(frozen=True)
class Rule:
    id: int
    tier: str
    kind: str
    threshold: int
    window_months: int | None

    @property
    def metric(self) -> str:
        """The metrics column this rule compares (referral counts exist per window)."""
        return f"signed_referrals_{self.window_months or 24}" if self.kind == "signed_referrals" else self.kind


@dataclass
class EvaluationResult:
    evaluated: int = 0
    upgraded: int = 0
    downgraded: int = 0


async def active_rules() -> list[Rule]:
    """The rules in force, highest tier first, then by position. Rows naming an unknown tier
    or kind are ignored (the admin form offers only known ones; SQL is built from these)."""
    rows = await TierCriterion.select().where(TierCriterion.active == True).order_by(  # noqa: E712
        TierCriterion.position
    )
    return rules_from(rows)


def rules_from(rows: Sequence[Mapping[str, Any]]) -> list[Rule]:
    """Active tier_criterion rows (in position order) as the rules evaluation uses: highest
    tier first; inactive rows and unknown tiers or kinds left out."""
    rules = [
        Rule(int(r["id"]), r["tier"], r["kind"], int(r["threshold"]), r["window_months"])
        for r in rows
        if r.get("active", True) and r["tier"] in TIER_RANK and r["kind"] in CRITERION_KINDS
    ]
    return sorted(rules, key=lambda rule: -TIER_RANK[rule.tier])


def _windows(rules: Sequence[Rule]) -> list[int]:
    return sorted({rule.window_months or 24 for rule in rules if rule.kind == "signed_referrals"})


def _window_start(today: date, months: int) -> datetime:
    start = today - relativedelta(months=months)
    return datetime(start.year, start.month, start.day, tzinfo=clock.LOCAL_ZONE)


_STAGE_RANK = "CASE member.stage " + " ".join(f"WHEN '{s}' THEN {i}" for i, s in enumerate(STAGES)) + " ELSE 0 END"


def _rank(expression: str) -> str:
    return "CASE " + expression + " " + " ".join(f"WHEN '{t}' THEN {TIER_RANK[t]}" for t in TIERS) + " ELSE 0 END"


def _metrics_query(filter_sql: str, filter_args: Sequence[object], rules: Sequence[Rule], today: date) -> tuple[str, list[object]]:
    """The metrics of the current cards that `filter_sql` (on alias `c`) selects, and its
    arguments. Every aggregate is limited to those cards' members, so a chunk of 50,000
    cards reads 50,000 members' ownerships and referrals, not the whole table's."""
    windows = _windows(rules)
    scope = f"SELECT c.member FROM card AS c WHERE c.status <> 'replaced' {filter_sql}"
    referral_columns = "".join(
        f"       COALESCE(r.w{i}, 0) AS signed_referrals_{months},\n" for i, months in enumerate(windows)
    )
    referral_join = (
        f"LEFT JOIN ({referrals_service.signed_referral_counts_sql(len(windows), scope)}) AS r ON r.member_id = card.member"
        if windows
        else ""
    )
    sql = f"""
SELECT card.id AS card_id, card.member AS member_id, card.tier AS old_tier,
       COALESCE(o.units_owned, 0) AS units_owned,
       COALESCE(o.delivered_units, 0) AS delivered_units,
       COALESCE(o.contract_value_fen, 0) AS contract_value_fen,
       {_STAGE_RANK} AS stage,
{referral_columns}       CASE WHEN a.ends_on >= {{}} THEN a.tier END AS assigned_tier,
       CASE WHEN a.ends_on < {{}} THEN NULLIF(a.previous_tier, '') END AS floor_tier
FROM card
JOIN member ON member.id = card.member
LEFT JOIN (
    SELECT ownership.member AS member_id,
           COUNT(*) AS units_owned,
           SUM(CASE WHEN ownership.delivery_date <= {{}} THEN 1 ELSE 0 END) AS delivered_units,
           SUM(COALESCE(unit.contract_price_fen, 0)) AS contract_value_fen
    FROM ownership JOIN unit ON unit.id = ownership.unit
    WHERE ownership.status = 'active' AND ownership.member IN ({scope})
    GROUP BY ownership.member
) AS o ON o.member_id = card.member
{referral_join}
LEFT JOIN tier_assignment AS a ON a.member = card.member AND a.revoked_at IS NULL
WHERE card.id IN (SELECT c.id FROM card AS c WHERE c.status <> 'replaced' {filter_sql})
"""
    args: list[object] = [today, today, today, *filter_args]
    if windows:
        args += [*(_window_start(today, months) for months in windows), *filter_args]
    args += list(filter_args)
    return sql, args


def _rules_case(rules: Sequence[Rule], result: str) -> str:
    """CASE over the rules in order; `result` is 'id' or 'tier' of the first that holds."""
    if not rules:  # typed, so PostgreSQL knows the column types of the temp table
        return "CAST(NULL AS INTEGER)" if result == "id" else "CAST(NULL AS VARCHAR(10))"
    whens = " ".join(
        f"WHEN m.{rule.metric} >= {int(rule.threshold)} THEN {rule.id if result == 'id' else repr(rule.tier)}"
        for rule in rules
    )
    return f"CASE {whens} ELSE NULL END"


def _higher(a: str, b: str) -> str:
    return f"CASE WHEN {_rank(a)} >= {_rank(b)} THEN {a} ELSE {b} END"


async def metrics(member_id: int, today: date, rules: Sequence[Rule] | None = None) -> dict[str, int | str | None] | None:
    """What each rule measures for one member's current card (for "why" and progress);
    look a rule's value up by `rule.metric`."""
    rules = rules if rules is not None else await active_rules()
    sql, args = _metrics_query("AND c.member = {}", [member_id], rules, today)
    rows = await Card.raw(sql, *args)
    return rows[0] if rows else None


async def evaluate(
    mode: str,
    *,
    today: date | None = None,
    member_ids: Sequence[int] | None = None,
    cause: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> EvaluationResult:
    """Evaluate tiers for all current cards, or those of `member_ids`; record every change
    in the tier history with its cause. Idempotent: a second run changes nothing."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    today = today or clock.today()
    rules = await active_rules()
    result = EvaluationResult()
    if member_ids is not None:
        ids = sorted(set(member_ids))
        for start in range(0, len(ids), 1000):
            await _evaluate_chunk(mode, rules, today, cause or mode, result, member_ids=ids[start : start + 1000])
        return result
    bounds = await Card.raw("SELECT MIN(id) AS low, MAX(id) AS high FROM card WHERE status <> 'replaced'")
    low, high = bounds[0]["low"], bounds[0]["high"]
    if low is None:
        return result
    total = high - low + 1
    for start in range(low, high + 1, CHUNK):
        await _evaluate_chunk(mode, rules, today, cause or mode, result, id_range=(start, start + CHUNK - 1))
        if progress:
            progress(min(start + CHUNK, high + 1) - low, total)
    return result


async def _evaluate_chunk(
    mode: str,
    rules: Sequence[Rule],
    today: date,
    cause: str,
    result: EvaluationResult,
    *,
    member_ids: Sequence[int] | None = None,
    id_range: tuple[int, int] | None = None,
) -> None:
    filter_sql, filter_args = _chunk_filter(member_ids, id_range)
    eval_sql, args = _rule_sql(rules, today, filter_sql, filter_args)
    now = clock.now()
    async with db.transaction():
        await Card.raw("DROP TABLE IF EXISTS tier_eval")
        await Card.raw(f"CREATE TEMP TABLE tier_eval AS {eval_sql}", *args)
        await Card.raw(f"CREATE TEMP TABLE tier_new AS {_new_tier_sql(mode, 'tier_eval')}")
        if db.is_postgres():  # a temp table has no statistics until analysed: plans go wrong
            await Card.raw("ANALYZE tier_new")
        changes = await Card.raw(
            f"""SELECT
                  COUNT(*) AS evaluated,
                  SUM(CASE WHEN {_rank('n.new_tier')} > {_rank('n.old_tier')} THEN 1 ELSE 0 END) AS upgraded,
                  SUM(CASE WHEN {_rank('n.new_tier')} < {_rank('n.old_tier')} THEN 1 ELSE 0 END) AS downgraded
                FROM tier_new AS n"""
        )
        await Card.raw(
            """INSERT INTO tier_change (member, card, from_tier, to_tier, criterion, cause, changed_at)
               SELECT n.member_id, n.card_id, n.old_tier, n.new_tier,
                      CASE WHEN n.new_tier = n.rule_tier THEN n.rule_id ELSE NULL END, {}, {}
               FROM tier_new AS n WHERE n.new_tier <> n.old_tier""",
            cause,
            now,
        )
        # The "why" follows the rules when they explain the tier held; a tier kept until the
        # review, or given by staff, keeps its own reason.
        await Card.raw(
            """UPDATE card SET
                   tier = n.new_tier,
                   tier_since = CASE WHEN card.tier <> n.new_tier THEN {} ELSE card.tier_since END,
                   tier_criterion = CASE WHEN n.new_tier = n.rule_tier THEN n.rule_id ELSE card.tier_criterion END,
                   tier_reason = CASE WHEN n.new_tier = n.rule_tier THEN 'rule'
                                      WHEN n.new_tier = n.assigned_tier THEN 'assignment'
                                      ELSE card.tier_reason END
               FROM tier_new AS n
               WHERE card.id = n.card_id
                 AND (card.tier <> n.new_tier
                      OR (n.new_tier = n.rule_tier AND COALESCE(card.tier_criterion, -1) <> n.rule_id)
                      OR (n.new_tier = n.rule_tier AND card.tier_reason <> 'rule'))""",
            now,
        )
        await Card.raw("DROP TABLE tier_eval")
        await Card.raw("DROP TABLE tier_new")
    row = changes[0]
    result.evaluated += int(row["evaluated"] or 0)
    result.upgraded += int(row["upgraded"] or 0)
    result.downgraded += int(row["downgraded"] or 0)


def _chunk_filter(member_ids: Sequence[int] | None, id_range: tuple[int, int] | None) -> tuple[str, list[object]]:
    """The cards of one chunk: those of `member_ids`, or the card ids in `id_range`."""
    if member_ids is not None:
        return "AND c.member IN (" + ", ".join("{}" for _ in member_ids) + ")", list(member_ids)
    assert id_range is not None
    return "AND c.id BETWEEN {} AND {}", list(id_range)


def _rule_sql(rules: Sequence[Rule], today: date, filter_sql: str, filter_args: Sequence[object]) -> tuple[str, list[object]]:
    """Step one of an evaluation: per card, the first rule that holds (its id and tier), the
    tier held and any assignment; and its arguments."""
    metrics_sql, args = _metrics_query(filter_sql, filter_args, rules, today)
    sql = f"""SELECT m.card_id, m.member_id, m.old_tier, m.assigned_tier, m.floor_tier,
                     {_rules_case(rules, 'id')} AS rule_id, {_rules_case(rules, 'tier')} AS rule_tier
              FROM ({metrics_sql}) AS m"""
    return sql, args


def _new_tier_sql(mode: str, source: str) -> str:
    """Step two: the tier each card of `source` (step one's rows) gets in `mode`."""
    rule_tier = "e.rule_tier"
    if mode == "upgrade":
        new_tier = _higher(_higher("e.old_tier", rule_tier), "e.assigned_tier")
    elif mode == "review":
        new_tier = _higher(f"COALESCE({rule_tier}, 'blue')", "e.assigned_tier")
    else:
        new_tier = _higher(_higher(f"COALESCE({rule_tier}, 'blue')", "e.assigned_tier"), "e.floor_tier")
    return f"""SELECT e.card_id, e.member_id, e.old_tier, e.rule_id, e.rule_tier, e.assigned_tier,
                      {new_tier} AS new_tier
               FROM {source} AS e"""


@dataclass
class TierMoves:
    """How many current cards of one tier a run would move up, move down, or leave."""

    up: int = 0
    down: int = 0
    stay: int = 0
    arrived: int = 0  # cards of other tiers that would move to this one


async def preview(mode: str, rules: Sequence[Rule], *, today: date | None = None) -> dict[str, TierMoves]:
    """What `evaluate(mode)` would do over all current cards if `rules` were the rules in
    force, per tier held now — computed by the same two steps as `evaluate`, as one SELECT
    per chunk, so it writes nothing (no temp table, no history, no card)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    today = today or clock.today()
    moves = {tier: TierMoves() for tier in TIERS}
    bounds = await Card.raw("SELECT MIN(id) AS low, MAX(id) AS high FROM card WHERE status <> 'replaced'")
    low, high = bounds[0]["low"], bounds[0]["high"]
    if low is None:
        return moves
    for start in range(low, high + 1, CHUNK):
        filter_sql, filter_args = _chunk_filter(None, (start, start + CHUNK - 1))
        eval_sql, args = _rule_sql(rules, today, filter_sql, filter_args)
        rows = await Card.raw(
            f"""SELECT n.old_tier, n.new_tier, COUNT(*) AS members
                FROM ({_new_tier_sql(mode, f'({eval_sql})')}) AS n
                GROUP BY n.old_tier, n.new_tier""",
            *args,
        )
        for row in rows:
            old, new = row["old_tier"], row["new_tier"]
            counts = moves.setdefault(old, TierMoves())
            rank_old, rank_new = TIER_RANK.get(old, 0), TIER_RANK.get(new, 0)
            if new != old:
                moves.setdefault(new, TierMoves()).arrived += int(row["members"])
            if rank_new > rank_old:
                counts.up += int(row["members"])
            elif rank_new < rank_old:
                counts.down += int(row["members"])
            else:
                counts.stay += int(row["members"])
    return moves
