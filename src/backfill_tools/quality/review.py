"""`backfill-dev report`: the identity review report of the last dry (or real) run.

Reads the plan and identity models the run built in the project's schema and writes
`identity-review.md` and `identity-review.html` (same content; the HTML draws the
counts as bars): the largest customers, the most shared values, counts by rule and
by refusal reason, and samples of merges and refusals, so a person can judge the
grouping before the real run.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

import psycopg2.extensions
from psycopg2 import sql

SAMPLE = 8


@dataclass(frozen=True)
class Table:
    """A titled table of the report."""

    title: str
    note: str
    columns: list[str]
    rows: list[tuple]
    bar_column: int | None = None  # a numeric column drawn as bars in HTML


QUERIES: list[tuple[str, str, str, int | None]] = [
    (
        "Plan",
        "What the run does (plan_summary).",
        """select 'leads' as what, leads_total as count from {s}.plan_summary
           union all select 'customers created', customers_created from {s}.plan_summary
           union all select 'customers reused', customers_reused from {s}.plan_summary
           union all select 'leads linked', leads_linked from {s}.plan_summary
           union all select 'leads left unlinked', leads_not_linked from {s}.plan_summary
           union all select 'conflicts', conflicts from {s}.plan_summary""",
        1,
    ),
    (
        "Leads by rule",
        "Why each lead has its customer (identity_lead_explanations.link_rule).",
        """select link_rule, count(*) as leads from {s}.identity_lead_explanations
           group by 1 order by 2 desc, 1""",
        1,
    ),
    (
        "Refusals by reason",
        "Everything the grouping refused to do (identity_refusals), by type and reason.",
        """select refusal_type, reason, count(*) as refusals, sum(lead_count) as leads
           from {s}.identity_refusals group by 1, 2 order by 3 desc, 1, 2""",
        2,
    ),
    (
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
    ),
    (
        "Most shared values",
        "The identifier values carried by the most leads, and whether they link.",
        """select identifier_type, identifier_value, lead_count,
               coalesce(rejection_reason, 'links') as status
           from {s}.int_identifier_values_screened
           order by lead_count desc, identifier_type, identifier_value limit 20""",
        2,
    ),
    (
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
               leads.phone_raw, leads.email_raw, explanations.link_rule,
               explanations.linked_by_identifier_value
           from sampled
           join {s}.identity_lead_explanations as explanations
               on explanations.customer_id = sampled.customer_id
           join {s}.stg_app__leads as leads on leads.lead_id = explanations.lead_id
           order by explanations.customer_id, leads.created_at""",
        None,
    ),
    (
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
        None,
    ),
]


def collect(conn: psycopg2.extensions.connection, schema: str) -> list[Table]:
    tables = []
    with conn.cursor() as cur:
        for title, note, query, bar_column in QUERIES:
            cur.execute(sql.SQL(query).format(s=sql.Identifier(schema)))
            columns = [column.name for column in cur.description or []]
            tables.append(Table(title, note, columns, cur.fetchall(), bar_column))
    conn.rollback()
    return tables


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


def render_markdown(tables: list[Table], schema: str) -> str:
    lines = ["# Identity review", "", f"From the models of schema `{schema}`.", ""]
    for table in tables:
        lines += [f"## {table.title}", "", table.note, ""]
        if not table.rows:
            lines += ["(none)", ""]
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
        return "<p>(none)</p>"
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


def render_html(tables: list[Table], schema: str) -> str:
    sections = "".join(
        f"<h2>{html.escape(t.title)}</h2><p>{html.escape(t.note)}</p>{_html_table(t)}"
        for t in tables
    )
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Identity review</title><style>
body {{ font-family: sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; margin-bottom: 1em; font-size: 90%; }}
td, th {{ border: 1px solid #ccc; padding: 3px 6px; text-align: left; vertical-align: top; }}
.bar {{ display: inline-block; height: 0.8em; background: #4a7fb5; }}
</style></head><body><h1>Identity review</h1>
<p>From the models of schema <code>{html.escape(schema)}</code>.</p>{sections}</body></html>
"""


def write_report(conn: psycopg2.extensions.connection, schema: str, out: Path) -> list[Path]:
    """Write identity-review.md and identity-review.html under `out`; return their paths."""
    tables = collect(conn, schema)
    out.mkdir(parents=True, exist_ok=True)
    markdown = out / "identity-review.md"
    page = out / "identity-review.html"
    markdown.write_text(render_markdown(tables, schema))
    page.write_text(render_html(tables, schema))
    return [markdown, page]
