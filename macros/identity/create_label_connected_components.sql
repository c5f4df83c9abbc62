{% macro create_label_connected_components(schema) %}
    {#- Pre-hook of the models that group: (re)creates, in the project's own schema,
        the PL/pgSQL function they call. Why a function: the transitive closure needs
        a loop until nothing changes, which one SQL statement cannot express without
        a recursive CTE, and a recursive CTE enumerates every reachable pair (size² rows
        per component: it does not finish once a junk value glues 35,000 leads). The
        function runs min-label propagation with pointer jumping over the star edges
        it is given, in temporary tables, and stops at the fixed point, when no edge
        joins two labels (a chain of 2,000 nodes in 9-10 passes; star-shaped groups
        in 1-2). It is
        created by the pre-hook of the model that uses it, in that model's transaction,
        so the function always matches the code that calls it. -#}
    create or replace function {{ adapter.quote(schema) }}.label_connected_components(
        edge_query text,
        max_iterations integer default 100
    )
    returns table (node_id bigint, component_id bigint)
    language plpgsql
    -- what the planner expects it to return (default 1,000): the phones of a million
    -- leads give half a million rows, which it then looked up one by one in an index
    rows 1000000
    as $function$
    declare
        disagreeing_edges bigint;
        iterations integer := 0;
    begin
        drop table if exists pg_temp.lcc_edges, pg_temp.lcc_labels, pg_temp.lcc_next;
        -- both directions of every edge; self-loops and duplicates dropped
        execute format(
            'create temp table lcc_edges as
             with given as (
                 select edges.node_id::bigint as node_id, edges.linked_node_id::bigint as linked_node_id
                 from (%s) as edges (node_id, linked_node_id)
                 where edges.node_id <> edges.linked_node_id
             )
             select node_id as source_id, linked_node_id as target_id from given
             union
             select linked_node_id, node_id from given',
            edge_query
        );
        create index on lcc_edges (source_id);
        analyze lcc_edges;
        -- every node starts with the smallest id among itself and its neighbours
        create temp table lcc_labels as
        select source_id as node_id, least(source_id, min(target_id)) as label
        from lcc_edges
        group by source_id;
        create unique index on lcc_labels (node_id);
        analyze lcc_labels;
        loop
            iterations := iterations + 1;
            if iterations > max_iterations then
                raise exception
                    'label_connected_components: no fixed point after % passes', max_iterations;
            end if;
            -- one pass: a node takes its neighbours' smallest label and hands it to the
            -- node its label points at (hooking), then jumps to its label's label
            create temp table lcc_next as
            with best_neighbour as (
                select lcc_edges.source_id as node_id, min(lcc_labels.label) as label
                from lcc_edges
                inner join lcc_labels on lcc_edges.target_id = lcc_labels.node_id
                group by lcc_edges.source_id
            ),
            proposals as (
                select lcc_labels.node_id, lcc_labels.label from lcc_labels
                union all
                select best_neighbour.node_id, best_neighbour.label from best_neighbour
                union all
                select lcc_labels.label, best_neighbour.label
                from best_neighbour
                inner join lcc_labels on best_neighbour.node_id = lcc_labels.node_id
                where best_neighbour.label < lcc_labels.label
            ),
            merged as (
                select proposals.node_id, min(proposals.label) as label
                from proposals
                group by proposals.node_id
            )
            select merged.node_id, least(merged.label, jumped.label) as label
            from merged
            left join merged as jumped on merged.label = jumped.node_id;
            drop table lcc_labels;
            alter table lcc_next rename to lcc_labels;
            create unique index on lcc_labels (node_id);
            analyze lcc_labels;
            -- the fixed point: no edge joins two labels. Each component then carries
            -- one label, its smallest node (a label always names a node of the
            -- component, and the smallest node keeps its own). Checking the edges
            -- costs a fraction of the pass that would otherwise find nothing to change.
            select count(*) into disagreeing_edges
            from lcc_edges
            inner join lcc_labels as source_labels
                on lcc_edges.source_id = source_labels.node_id
            inner join lcc_labels as target_labels
                on lcc_edges.target_id = target_labels.node_id
            where source_labels.label <> target_labels.label;
            exit when disagreeing_edges = 0;
        end loop;
        raise notice 'label_connected_components: % nodes, fixed point after % passes',
            (select count(*) from lcc_labels), iterations;
        return query select lcc_labels.node_id, lcc_labels.label from lcc_labels;
        drop table if exists pg_temp.lcc_edges, pg_temp.lcc_labels;
    end
    $function$;
{% endmacro %}
