{#- The customers that remain after merging ids: one row per survivor, deleted ones
    excluded. This is what the SCD2 snapshot records. `first_created_at` is the
    earliest `created_at` of every id merged into the survivor, since the survivor
    inherits their transactions: its first version must cover them. -#}
with

customers as (
    select * from {{ ref("int_customers_deduplicated") }}
),

id_map as (
    select * from {{ ref("int_customer_id_map") }}
),

survivors as (
    select customers.*
    from customers
    inner join id_map
        on
            customers.customer_id = id_map.customer_id
            and id_map.customer_id = id_map.survivor_customer_id
    where not customers.is_deleted
),

merged_groups as (
    select
        id_map.survivor_customer_id as customer_id,
        min(customers.created_at) as first_created_at
    from customers
    inner join id_map
        on customers.customer_id = id_map.customer_id
    group by 1
),

final as (
    select
        survivors.customer_id,
        survivors.first_name,
        survivors.last_name,
        survivors.email,
        survivors.phone,
        survivors.company_name,
        survivors.address_line_1,
        survivors.address_line_2,
        survivors.city,
        survivors.state,
        survivors.postal_code,
        survivors.country,
        survivors.country_as_entered,
        survivors.source_system,
        survivors.is_active,
        survivors.has_invalid_email,
        survivors.created_at,
        survivors.updated_at,
        merged_groups.first_created_at,
        coalesce(
            survivors.updated_at, survivors.created_at, {{ oldest_timestamp() }}
        ) as version_updated_at
    from survivors
    left join merged_groups
        on survivors.customer_id = merged_groups.customer_id
)

select * from final
