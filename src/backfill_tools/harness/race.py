"""`backfill-dev race`: two writers started together end as one of their serial orders.

Races, each on a fresh copy of one template (a generated dataset with one applied run, then
leads and jobs the app added after it):

* "build+build": two `dbt build` at once. Serially, the second changes nothing, so the
  final app tables must be those of one build (Audit excepted); the second stops at once
  with the claim's message, or applies idempotently after the first.
* "build+rollback": `dbt build` and `dbt run-operation rollback_backfill` at once. The final
  app tables must be one of: build then rollback, rollback then build, or the build alone
  with the rollback stopped cleanly (it chose its runs before the build committed, and the
  build's new links now use those customers, so it refuses to delete them).

Every outcome is checked against the references computed serially on copies, and the
ledger must be consistent.
"""

from __future__ import annotations

import random
import subprocess
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from backfill_tools.db.appdb import AppSchema, connect
from backfill_tools.db.server import Server
from backfill_tools.harness.trial import (
    COMMANDS,
    Fingerprints,
    app_state,
    ledger_problems,
    make_template,
    project_for,
    run_done,
)

ROLLBACK_REFUSED = "rollback_backfill stopped"
CLAIM_REFUSED = "stopped before changing anything: another `dbt build` of this project"


@dataclass
class RaceConfig:
    work_dir: Path
    leads: int = 300
    seed: int = 7
    rounds: int = 1
    races: tuple[str, ...] = ("build+build", "build+rollback")
    app: AppSchema = field(default_factory=AppSchema)
    prefix: str = "backfill_race"
    keep: bool = False


@dataclass
class RaceResult:
    race: str
    round: int
    outcome: str  # which serial order the final state equals, or "NONE"
    exits: tuple[str, str]  # how each command ended: done / refused / FAILED
    problems: list[str]

    @property
    def held(self) -> bool:
        return self.outcome != "NONE" and "FAILED" not in self.exits and not self.problems


def add_app_writes(env: dict[str, str], app: AppSchema, seed: int) -> None:
    """What the app did after the first run: leads reusing a phone of an earlier lead,
    new leads, and jobs (deterministic ids, so every copy is the same)."""
    rng = random.Random(seed)
    conn = connect(env)
    s = f'"{app.schema}"'
    with conn.cursor() as cur:
        cur.execute(f'select id::text, phone from {s}."Lead" where phone is not null order by id')
        earlier = cur.fetchall()
        for number in range(20):
            lead_id = str(uuid.UUID(int=rng.getrandbits(128)))
            phone = rng.choice(earlier)[1] if number % 2 else f"(555) 010-{1000 + number}"
            cur.execute(
                f'insert into {s}."Lead" (id, channel, name, phone, created_at, updated_at)'
                " values (%s, 'sms', %s, %s, '2030-01-01'::timestamptz + %s * interval '1 min',"
                " '2030-01-01')",
                (lead_id, f"Later {number}", phone, number),
            )
            cur.execute(
                f'insert into {s}."Job" (id, lead_id, status, window_start, window_end,'
                " updated_at) values (%s, %s, 'booked', '2030-02-01', '2030-02-01 02:00', now())",
                (str(uuid.UUID(int=rng.getrandbits(128))), lead_id),
            )
    conn.commit()
    conn.close()


def make_race_template(server: Server, config: RaceConfig) -> str:
    """The generated dataset, one applied run, then what the app wrote after it."""
    name = f"{config.prefix}_template"
    dbt_dir = config.work_dir / "dbt-template"
    env = make_template(server, name, config.app, config.leads, config.seed, dbt_dir)
    add_app_writes(env, config.app, config.seed)
    return name


def _serial(
    server: Server, template: str, config: RaceConfig, commands: list[str]
) -> list[Fingerprints]:
    """The app states (Audit excepted) after each command, run one after the other."""
    env = server.recreate(f"{config.prefix}_run", template=template)
    project = project_for(env, config.app, config.work_dir / "dbt")
    states = []
    for command in commands:
        result = project.run(*COMMANDS[command], check=False)
        if not run_done(command, result.output):
            raise RuntimeError(f"serial {command} failed:\n{result.output[-3000:]}")
        states.append(app_state(env, config.app).stable_without_audit())
    return states


def references(server: Server, template: str, config: RaceConfig) -> dict[str, Fingerprints]:
    build_only, build_then_rollback = _serial(server, template, config, ["build", "rollback"])
    _, rollback_then_build = _serial(server, template, config, ["rollback", "build"])
    return {
        "one build": build_only,
        "build then rollback": build_then_rollback,
        "rollback then build": rollback_then_build,
    }


def _ended(command: str, output: str) -> str:
    if run_done(command, output):
        return "done"
    if ROLLBACK_REFUSED in output or CLAIM_REFUSED in output:
        return "refused"
    return "FAILED"


def race_once(
    server: Server, template: str, config: RaceConfig, race: str, number: int,
    refs: dict[str, Fingerprints],
) -> RaceResult:  # fmt: skip
    env = server.recreate(f"{config.prefix}_run", template=template)
    commands = race.split("+")
    projects = [
        project_for(env, config.app, config.work_dir / f"dbt-{side}") for side in ("a", "b")
    ]
    processes = [
        project.start(*COMMANDS[command], stderr=subprocess.STDOUT)
        for project, command in zip(projects, commands, strict=True)
    ]
    outputs = [process.communicate(timeout=1800)[0] for process in processes]
    for side, output in zip("ab", outputs, strict=True):
        (config.work_dir / f"{race}-{number:02d}-{side}.log").write_text(output)
    exits = tuple(_ended(c, o) for c, o in zip(commands, outputs, strict=True))
    final = app_state(env, config.app).stable_without_audit()
    allowed = ["one build"] if race == "build+build" else list(refs)
    outcome = next((name for name in allowed if refs[name] == final), "NONE")
    problems = ledger_problems(env, config.app)
    if outcome == "one build" and race == "build+rollback" and exits[1] != "refused":
        problems.append("the build alone, but the rollback did not say it stopped")
    return RaceResult(race, number, outcome, exits, problems)  # type: ignore[arg-type]


def run_races(
    server: Server, config: RaceConfig, out: Callable[[str], None] = print
) -> list[RaceResult]:
    config.work_dir.mkdir(parents=True, exist_ok=True)
    template = make_race_template(server, config)
    refs = references(server, template, config)
    out(f"template: {config.leads:,} leads, one applied run, then 20 app leads and jobs")
    results = []
    try:
        for number in range(1, config.rounds + 1):
            for race in config.races:
                result = race_once(server, template, config, race, number, refs)
                results.append(result)
                out(
                    f"{race:<15} round {number:>2}: final = {result.outcome:<20}"
                    f" exits {'/'.join(result.exits):<14} {'held' if result.held else 'FAILED'}"
                    + (f" problems: {'; '.join(result.problems)}" if result.problems else "")
                )
    finally:
        if not config.keep:
            for name in (template, f"{config.prefix}_run"):
                server.drop_database(name)
    for race in config.races:
        mine = [r for r in results if r.race == race]
        outcomes = Counter(r.outcome for r in mine)
        out(
            f"{race}: {sum(r.held for r in mine)}/{len(mine)} held; final states: "
            + ", ".join(f"{name} x{count}" for name, count in outcomes.items())
        )
    return results
