-- The floor of the benchmark: only the essential work of a backfill, hand-written, in
-- one transaction. Priority keys (PSID > phone > e-mail > the lead itself) with the
-- original script's naive normalization, one new customer per group of unlinked leads,
-- then the lead and job links and one Audit row. No plan, no ledger, no checks.
-- {schema} and {psid_column} are replaced by backfill_tools.bench.baselines.
begin;

create temporary table floor_lead_groups on commit drop as
select
    lead_id,
    created_at,
    lead_name,
    phone_key,
    email_key,
    case
        when psid_key is not null then 'psid:' || psid_key
        when phone_key is not null then 'phone:' || phone_key
        when email_key is not null then 'email:' || email_key
        else 'individual:' || lead_id::text
    end as group_key
from (
    select
        lead_id,
        created_at,
        lead_name,
        psid_key,
        case when length(phone_digits) >= 10 then right(phone_digits, 10) end as phone_key,
        case when email_lower ~ '^[^\s@]+@[^\s@]+\.[^\s@]+$' then email_lower end as email_key
    from (
        select
            id as lead_id,
            created_at,
            name as lead_name,
            nullif(btrim("{psid_column}"), '') as psid_key,
            regexp_replace(phone, '[^0-9]', '', 'g') as phone_digits,
            lower(btrim(email)) as email_lower
        from "{schema}"."Lead"
        where customer_id is null
        offset 0
    ) as cleaned
) as keyed;

insert into "{schema}"."Customer" (id, name, phone, email, metadata, created_at, updated_at)
select
    md5('bench-floor:' || group_key)::uuid,
    (array_agg(lead_name order by created_at desc) filter (where lead_name is not null))[1],
    max(phone_key),
    max(email_key),
    jsonb_build_object(
        'groupType', split_part(group_key, ':', 1),
        'groupKey', group_key,
        'leadCount', count(*),
        'createdBy', 'bench-floor'
    ),
    now(),
    now()
from floor_lead_groups
group by group_key;

update "{schema}"."Lead" as leads
set customer_id = md5('bench-floor:' || floor_lead_groups.group_key)::uuid
from floor_lead_groups
where leads.id = floor_lead_groups.lead_id;

update "{schema}"."Job" as jobs
set customer_id = leads.customer_id
from "{schema}"."Lead" as leads
where
    jobs.lead_id = leads.id
    and jobs.customer_id is null
    and leads.customer_id is not null;

insert into "{schema}"."Audit" (actor, action, payload)
values ('system', 'backfill_customers', '{"createdBy": "bench-floor"}'::jsonb);

commit;
