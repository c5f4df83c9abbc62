"""`backfill-dev report`: the identity review report of the last run, dry or applied.

Reads the plan and identity models the last `dbt build` built in the project's schema and
writes `identity-review.md` and `identity-review.html` (same content; the HTML draws the
counts as bars). It names the run (its id, and whether it was a dry run or applied, from
`plan_summary` and `backfill_runs`), then shows the plan, the conflicts and what
`resolve_conflicts` would do with them, the largest customers, the most shared values,
counts by rule and by refusal reason, and samples of merges and refusals, so a person can
judge the grouping. A section with nothing to show says why.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psycopg2.extensions
from psycopg2 import sql

SAMPLE = 8
CONFLICTS_SHOWN = 100


@dataclass(frozen=True)
class Run:
    """The run the report describes: the last `dbt build` of the schema (plan_summary)."""

    run_id: str
    applied_at: datetime | None  # when its writes committed (backfill_runs); None: not applied
    leads_total: int
    leads_linked: int
    leads_already_linked: int
    leads_not_linked: int
    conflicts: int
    applied_runs: int  # rows of backfill_runs: every applied run so far
    # the latest later build that found nothing changed since this run (it kept this plan)
    unchanged_by: str | None = None

    @property
    def applied(self) -> bool:
        return self.applied_at is not None

    def describe(self) -> str:
        if self.applied_at is not None:
            later = (
                f" Run `{self.unchanged_by}`, a later build, found nothing changed since:"
                " it kept this plan and wrote nothing."
                if self.unchanged_by
                else ""
            )
            return (
                f"Run `{self.run_id}`: an applied run (`dbt build`), committed"
                f" {self.applied_at:%Y-%m-%d %H:%M:%S %Z}. The plan below is what it wrote." + later
            )
        return (
            f"Run `{self.run_id}`: a dry run (`dbt build --vars '{{dry_run: true}}'`), or a"
            " run stopped before its commit: nothing was written. The plan below is what a"
            f" real run would do now. Applied runs so far: {self.applied_runs}."
        )

    def nothing_linked(self) -> str | None:
        """Why the run links no lead (None when it links some)."""
        if self.leads_linked:
            return None
        verb = "were" if self.applied else "would be"
        if self.leads_total == 0:
            return f"No leads {verb} linked by this run: the app has no leads."
        if self.leads_not_linked == 0:
            return (
                f"No leads {verb} linked by this run: everything was linked already"
                f" ({self.leads_already_linked:,} leads)."
            )
        return (
            f"No leads {verb} linked by this run: {self.leads_already_linked:,} were linked"
            f" already, {self.leads_not_linked:,} left unlinked (see Conflicts)."
        )


@dataclass(frozen=True)
class Section:
    """A section of the report: its query, and what it means when it has no rows."""

    title: str
    note: str
    query: str
    bar_column: int | None = None  # a numeric column drawn as bars in HTML
    if_empty: str = "None."
    of_linked_leads: bool = False  # shows what the run links: empty when it links nothing


@dataclass(frozen=True)
class Table:
    """A titled table of the report, or why it has no rows."""

    title: str
    note: str
    columns: list[str]
    rows: list[tuple]
    bar_column: int | None = None
    empty: str = ""


SECTIONS: list[Section] = [
    Section(
        "Plan",
        "What the run does (plan_summary).",
        """select 'leads' as what, leads_total as count from {s}.plan_summary
           union all select 'leads linked already', leads_already_linked from {s}.plan_summary
           union all select 'customers created', customers_created from {s}.plan_summary
           union all select 'customers reused', customers_reused from {s}.plan_summary
           union all select 'leads linked', leads_linked from {s}.plan_summary
           union all select 'leads left unlinked', leads_not_linked from {s}.plan_summary
           union all select 'conflicts', conflicts from {s}.plan_summary""",
        1,
    ),
    Section(
        "Conflicts",
        "What the run refused to decide alone (plan_conflicts), one row per customer involved,"
        " with what `dbt run-operation resolve_conflicts` would do (plan_conflict_resolutions):"
        " the customer it is merged into, whether the conflict is then resolved, or why the"
        f" customers stay apart. At most {CONFLICTS_SHOWN} rows.",
        """select conflicts.conflict_type, conflicts.object_type, conflicts.object_id,
               resolutions.customer_id, resolutions.merged_into_customer_id,
               resolutions.is_conflict_resolved, resolutions.refusal_reason, conflicts.detail
           from {s}.plan_conflicts as conflicts
           left join {s}.plan_conflict_resolutions as resolutions
               on resolutions.conflict_id = conflicts.conflict_id
           order by conflicts.conflict_type, conflicts.object_id, resolutions.customer_id
           limit """
        + str(CONFLICTS_SHOWN),
        if_empty="None: the run met no conflict.",
    ),
    Section(
        "Leads by rule",
        "Why each lead has its customer (identity_lead_explanations.link_rule).",
        """select link_rule, count(*) as leads from {s}.identity_lead_explanations
           group by 1 order by 2 desc, 1""",
        1,
        if_empty="None: the app has no leads.",
    ),
    Section(
        "Refusals by reason",
        "Everything the grouping refused to do (identity_refusals), by type and reason.",
        """select refusal_type, reason, count(*) as refusals, sum(lead_count) as leads
           from {s}.identity_refusals group by 1, 2 order by 3 desc, 1, 2""",
        2,
        if_empty="None: the grouping rejected no value and vetoed no link.",
    ),
    Section(
        "Largest customers",
        "The customers with the most leads after the run; a big one deserves a look.",
        """select customers.customer_id, customers.group_key, customers.group_lead_count
               as leads, array_to_string(customers.matched_on, ', ') as matched_on,
               customers.customer_name,
               (select string_agg(distinct nodes.first_name, ', ')
                from {s}.int_leads_grouped_to_customers as grouped
                join {s}.int_identity_nodes as nodes on nodes.lead_id = grouped.lead_id
                where grouped.group_key = customers.group_key) as first_names
           from {s}.plan_customers as customers
           order by customers.group_lead_count desc, customers.customer_id limit 15""",
        2,
        if_empty="None: the run creates or reuses no customer.",
        of_linked_leads=True,
    ),
    Section(
        "Most shared values",
        "The identifier values carried by the most leads, and whether they link.",
        """select identifier_type, identifier_value, lead_count,
               coalesce(rejection_reason, 'links') as status
           from {s}.int_identifier_values_screened
           order by lead_count desc, identifier_type, identifier_value limit 20""",
        2,
        if_empty="None: no lead carries a PSID, phone, e-mail or address, or the run's own"
        " tables were emptied by a restart after a crash (run the dry run again).",
    ),
    Section(
        "Sample merges",
        "Customers the run creates from several leads (a deterministic sample): each"
        " lead, the stage and the value that linked it.",
        """with sampled as (
               select customer_id from {s}.plan_customers
               where is_new_customer and group_lead_count > 1
               order by md5(customer_id::text) limit """
        + str(SAMPLE)
        + """)
           select explanations.customer_id, leads.lead_name, leads.psid_raw,
               leads.phone_raw, leads.email_raw, leads.address, explanations.link_rule,
               explanations.linked_by_identifier_value
           from sampled
           join {s}.identity_lead_explanations as explanations
               on explanations.customer_id = sampled.customer_id
           join {s}.stg_app__leads as leads on leads.lead_id = explanations.lead_id
           order by explanations.customer_id, leads.created_at""",
        if_empty="None: the run creates no customer from several leads.",
        of_linked_leads=True,
    ),
    Section(
        "Sample refusals",
        "A few refusals of each type, with the first names involved (a deterministic sample).",
        """select refusal_type, reason, identifier_value, lead_count,
               array_to_string(first_names[1:6], ', ') as first_names, detail
           from (
               select *, row_number() over (partition by refusal_type
                                            order by lead_count desc, refusal_id) as position
               from {s}.identity_refusals
           ) as ranked
           where position <= """
        + str(SAMPLE)
        + """ order by refusal_type, position""",
        if_empty="None: the grouping rejected no value and vetoed no link.",
    ),
]

_RUN_SQL = """
select summary.run_id, runs.applied_at, summary.leads_total, summary.leads_linked,
    summary.leads_already_linked, summary.leads_not_linked, summary.conflicts,
    (select count(*) from {s}.backfill_runs),
    (
        -- read as json: a history older than the column has none
        select later.run_id from {s}.backfill_runs as later
        where to_jsonb(later) ->> 'unchanged_since_run_id' = summary.run_id
        order by later.applied_at desc limit 1
    )
from {s}.plan_summary as summary
left join {s}.backfill_runs as runs on runs.run_id = summary.run_id
"""


def read_run(conn: psycopg2.extensions.connection, schema: str) -> Run:
    """The last run of `schema`; a clear error when no `dbt build` has run there."""
    with conn.cursor() as cur:
        cur.execute(
            "select to_regclass(%s) is not null and to_regclass(%s) is not null",
            (f'"{schema}".plan_summary', f'"{schema}".backfill_runs'),
        )
        built = cur.fetchone()
        if not (built and built[0]):
            raise RuntimeError(
                f"schema {schema} has no run to report on: run the dry run first"
                " (`dbt build --vars '{dry_run: true}'`)"
            )
        cur.execute(sql.SQL(_RUN_SQL).format(s=sql.Identifier(schema)))
        row = cur.fetchone()
    conn.rollback()
    if row is None:
        raise RuntimeError(f"{schema}.plan_summary is empty: run the dry run again")
    run_id, applied_at, *counts, unchanged_by = row
    return Run(str(run_id), applied_at, *(int(count or 0) for count in counts), unchanged_by)


def collect(conn: psycopg2.extensions.connection, schema: str, run: Run) -> list[Table]:
    tables = []
    nothing_linked = run.nothing_linked()
    with conn.cursor() as cur:
        for section in SECTIONS:
            cur.execute(sql.SQL(section.query).format(s=sql.Identifier(schema)))
            columns = [column.name for column in cur.description or []]
            empty = section.if_empty
            if section.of_linked_leads and nothing_linked:
                empty = nothing_linked
            rows = cur.fetchall()
            tables.append(
                Table(section.title, section.note, columns, rows, section.bar_column, empty)
            )
    conn.rollback()
    return tables


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


def _introduction(run: Run, schema: str) -> list[str]:
    lines = [run.describe(), f"From the models of schema `{schema}`."]
    nothing_linked = run.nothing_linked()
    if nothing_linked:
        lines.append(nothing_linked + " The sections of what a run links are empty.")
    return lines


def render_markdown(tables: list[Table], schema: str, run: Run) -> str:
    lines = ["# Identity review", ""]
    for paragraph in _introduction(run, schema):
        lines += [paragraph, ""]
    for table in tables:
        lines += [f"## {table.title}", "", table.note, ""]
        if not table.rows:
            lines += [table.empty, ""]
            continue
        lines.append("| " + " | ".join(table.columns) + " |")
        lines.append("|" + "---|" * len(table.columns))
        for row in table.rows:
            cells = [_cell(value).replace("|", "\\|") for value in row]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def _html_table(table: Table) -> str:
    if not table.rows:
        return f"<p><em>{html.escape(table.empty)}</em></p>"
    largest = 1.0
    if table.bar_column is not None:
        largest = max(float(row[table.bar_column] or 0) for row in table.rows) or 1.0
    head = "".join(f"<th>{html.escape(column)}</th>" for column in table.columns)
    body = []
    for row in table.rows:
        cells = []
        for index, value in enumerate(row):
            text = html.escape(_cell(value))
            if index == table.bar_column:
                width = 100.0 * float(value or 0) / largest
                text = f'<span class="bar" style="width:{width:.0f}px"></span> {text}'
            cells.append(f"<td>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _html_text(text: str) -> str:
    """`text` escaped, with its `code` spans as <code>."""
    parts = html.escape(text).split("`")
    return "".join(f"<code>{part}</code>" if i % 2 else part for i, part in enumerate(parts))


def render_html(tables: list[Table], schema: str, run: Run) -> str:
    introduction = "".join(f"<p>{_html_text(line)}</p>" for line in _introduction(run, schema))
    sections = "".join(
        f"<h2>{html.escape(t.title)}</h2><p>{_html_text(t.note)}</p>{_html_table(t)}"
        for t in tables
    )
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Identity review</title><style>
body {{ font-family: sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; margin-bottom: 1em; font-size: 90%; }}
td, th {{ border: 1px solid #ccc; padding: 3px 6px; text-align: left; vertical-align: top; }}
.bar {{ display: inline-block; height: 0.8em; background: #4a7fb5; }}
</style></head><body><h1>Identity review</h1>
{introduction}{sections}</body></html>
"""


def write_report(
    conn: psycopg2.extensions.connection, schema: str, out: Path
) -> tuple[Run, list[Path]]:
    """Write identity-review.md and identity-review.html under `out`; the run they describe
    and their paths."""
    run = read_run(conn, schema)
    tables = collect(conn, schema, run)
    out.mkdir(parents=True, exist_ok=True)
    markdown = out / "identity-review.md"
    page = out / "identity-review.html"
    markdown.write_text(render_markdown(tables, schema, run))
    page.write_text(render_html(tables, schema, run))
    return run, [markdown, page]
