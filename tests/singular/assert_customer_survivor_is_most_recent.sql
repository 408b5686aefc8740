{#- Gold rule 3, recomputed: customers whose normalised valid email is the same are one
    customer, and the survivor is the most recently updated record (a missing
    updated_at counting as the oldest; ties: live, then the lowest id). A customer
    without a valid email, or deleted at source, is its own survivor, and a survivor
    maps to itself. The expected survivor of each id is the member of its email group
    that no other member beats; returns each id of int_customer_id_map mapped
    elsewhere. -#}
with

customers as (
    select
        customer_id,
        email,
        is_deleted,
        source_system,
        coalesce(updated_at, {{ oldest_timestamp() }}) as recency
    from {{ ref("int_customers_deduplicated") }}
),

id_map as (
    select * from {{ ref("int_customer_id_map") }}
),

candidates as (
    select * from customers
    where email is not null and not is_deleted
),

best_per_email as (
    select
        candidates.email,
        candidates.customer_id as survivor_customer_id
    from candidates
    where not exists (
        select 1
        from candidates as rival
        where
            rival.email = candidates.email
            and rival.customer_id <> candidates.customer_id
            and (
                rival.recency > candidates.recency
                or (
                    rival.recency = candidates.recency
                    and rival.source_system = 'live'
                    and candidates.source_system <> 'live'
                )
                or (
                    rival.recency = candidates.recency
                    and (rival.source_system = 'live')
                    = (candidates.source_system = 'live')
                    and rival.customer_id < candidates.customer_id
                )
            )
    )
),

expected as (
    select
        customers.customer_id,
        coalesce(
            case
                when not customers.is_deleted then best_per_email.survivor_customer_id
            end,
            customers.customer_id
        ) as expected_survivor_customer_id
    from customers
    left join best_per_email
        on customers.email = best_per_email.email
)

select
    expected.customer_id,
    expected.expected_survivor_customer_id,
    id_map.survivor_customer_id
from expected
left join id_map
    on expected.customer_id = id_map.customer_id
where
    id_map.customer_id is null
    or id_map.survivor_customer_id <> expected.expected_survivor_customer_id
