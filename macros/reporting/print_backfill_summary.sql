{% macro print_backfill_summary(results) %}
    {#- on-run-end: the statistics block of the original script, for dry and real runs. -#}
    {% if execute and flags.WHICH in ('build', 'run') %}
        {% set dry_run = is_dry_run() %}
        {% set statuses = {} %}
        {% set reusable = {'built': 0, 'reused': 0} %}
        {% for result in results %}
            {% do statuses.update({result.node.name: result.status | string}) %}
            {% if result.node.config.materialized == 'reusable_table' and result.status | string == 'success' %}
                {% set outcome = 'reused' if result.message == 'REUSED' else 'built' %}
                {% do reusable.update({outcome: reusable[outcome] + 1}) %}
            {% endif %}
        {% endfor %}
        {% set unchanged_since = unchanged_since_run() %}
        {% if dry_run and unchanged_since %}
            {#- the plan in place is the one a real run applied: nothing to preview -#}
            {{ print_unchanged_run(unchanged_since, results, dry_run) }}
            {{ return('') }}
        {% elif dry_run %}
            {% set source_model = 'plan_summary' %}
        {% else %}
            {% set source_model = 'backfill_runs' %}
        {% endif %}
        {% set rule = '═' * 63 %}
        {% if statuses.get(source_model) != 'success' %}
            {% do print(rule) %}
            {% do print('❌ BACKFILL NOT APPLIED: ' ~ source_model ~ ' '
                ~ statuses.get(source_model, 'was not selected')
                ~ '. Nothing was written to the app tables by this run.') %}
            {% do print(rule) %}
        {% else %}
            {% set stats = run_query(
                'select * from ' ~ backfill_relation(source_model)
                ~ ' where run_id = ' ~ dbt.string_literal(invocation_id)
            ) %}
            {% if stats.rows | length == 1 %}
                {{ print_statistics_block(stats.rows[0], dry_run) }}
                {% if unchanged_since %}
                    {{ print_unchanged_run(unchanged_since, results, dry_run) }}
                {% else %}
                    {{ print_reused_tables(reusable['reused'], reusable['built']) }}
                {% endif %}
                {% if var('verbose') %}
                    {{ print_customer_groups(dry_run) }}
                {% endif %}
            {% endif %}
        {% endif %}
    {% endif %}
{% endmacro %}


{% macro print_statistics_block(row, dry_run) %}
    {% set rule = '═' * 63 %}
    {% set lines = [
        ('Customers created:', row['customers_created']),
        ('Customers reused:', row['customers_reused']),
        ('Leads linked:', row['leads_linked']),
        ('Leads already linked:', row['leads_already_linked']),
        ('Leads not linked:', row['leads_not_linked']),
        ('Jobs linked:', row['jobs_linked']),
        ('Jobs already linked:', row['jobs_already_linked']),
        ('Addresses created:', row['addresses_created']),
        ('Conflicts:', row['conflicts']),
        ('Errors:', row['errors']),
    ] %}
    {% do print('') %}
    {% do print(rule) %}
    {% do print('🔍 DRY RUN COMPLETE (nothing was written)' if dry_run else '✅ BACKFILL APPLIED') %}
    {% do print(rule) %}
    {% do print('') %}
    {% do print('📊 Statistics:' ~ ('' if dry_run else '   run ' ~ row['run_id'])) %}
    {% for label, value in lines %}
        {% do print('   ' ~ '%-24s' | format(label) ~ value) %}
    {% endfor %}
    {% do print('') %}
    {% do print('🔗 New customers by grouping:') %}
    {% do print('   - By PSID:      ' ~ row['customers_by_psid']) %}
    {% do print('   - By Phone:     ' ~ row['customers_by_phone']) %}
    {% do print('   - By Email:     ' ~ row['customers_by_email']) %}
    {% do print('   - By Address:   ' ~ row['customers_by_address']) %}
    {% do print('   - Individual:   ' ~ row['customers_individual']) %}
    {% do print('') %}
    {% do print('Plan: ' ~ target.schema ~ '.plan_customers, plan_lead_links, plan_job_links,'
        ~ ' plan_customer_addresses, plan_conflicts') %}
{% endmacro %}


{% macro print_reused_tables(reused, built) %}
    {#- One line: how many tables of the plan this run kept because nothing they are built
        from had changed (reusable_table), and how many it built. -#}
    {% if reused > 0 %}
        {% do print('Reused ' ~ reused ~ ' of ' ~ (reused + built) ~ ' tables of the plan: nothing they are'
            ~ ' built from has changed since they were built (dbt prints REUSED; --full-refresh rebuilds them).') %}
    {% endif %}
{% endmacro %}


{% macro print_customer_groups(dry_run) %}
    {% set limit = var('verbose_group_limit') | int %}
    {% set groups = run_query(
        'select customer_id, is_new_customer, group_type, group_key, leads_to_link,'
        ~ ' group_lead_count from ' ~ backfill_relation('plan_customers')
        ~ ' order by leads_to_link desc, customer_id limit ' ~ (limit + 1)
    ) %}
    {% set total = run_query('select count(*) from ' ~ backfill_relation('plan_customers')).columns[0].values()[0] %}
    {% set prefix = '   [DRY RUN] Would ' if dry_run else '   ' %}
    {% do print('') %}
    {% do print('👥 Customer groups (largest first):') %}
    {% for group in groups.rows[:limit] %}
        {% set verb = ('create' if dry_run else 'Created') if group['is_new_customer']
            else ('reuse' if dry_run else 'Reused') %}
        {% do print(prefix ~ verb ~ ' customer ' ~ group['customer_id'] ~ ' (' ~ group['group_type']
            ~ ', ' ~ group['leads_to_link'] ~ ' lead(s) to link) ' ~ group['group_key']) %}
    {% endfor %}
    {% if total > limit %}
        {% do print('   ... and ' ~ (total - limit) ~ ' more: select * from '
            ~ backfill_relation('plan_customers') ~ ' order by leads_to_link desc') %}
    {% endif %}
{% endmacro %}


{% macro print_unchanged_run(run_id, results, dry_run) %}
    {#- What a build that found its inputs unchanged since a validated real run did not
        do (unchanged_runs.sql). -#}
    {% set ns = namespace(tables=0, checks=0) %}
    {% for result in results %}
        {% if result.node.config.materialized == 'reusable_table' %}{% set ns.tables = ns.tables + 1 %}{% endif %}
        {% if result.node.resource_type == 'test' %}{% set ns.checks = ns.checks + 1 %}{% endif %}
    {% endfor %}
    {% set rule = '═' * 63 %}
    {% if dry_run %}
        {% do print('') %}
        {% do print(rule) %}
        {% do print('🔍 DRY RUN COMPLETE (nothing was written): nothing to do') %}
        {% do print(rule) %}
    {% endif %}
    {% do print('') %}
    {% do print('♻️  Nothing has changed since run ' ~ run_id ~ ' applied its plan and passed every check:') %}
    {% do print('   the same leads, jobs, customers, addresses, seeds, overrides, vars and code.') %}
    {% do print('   ' ~ ('A real run would write nothing. ' if dry_run else 'Nothing was written but this run\'s row and Audit row. ')
        ~ 'Kept all ' ~ ns.tables ~ ' tables of that plan;') %}
    {% do print('   did not run its ' ~ ns.checks ~ ' checks again (dbt prints PASS for them; `dbt test` runs them all).') %}
{% endmacro %}
