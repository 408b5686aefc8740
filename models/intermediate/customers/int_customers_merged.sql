{#- The customers that remain after merging ids: one row per survivor, deleted ones
    excluded. This is what the SCD2 snapshot records. -#}
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

final as (
    select
        customer_id,
        first_name,
        last_name,
        email,
        phone,
        company_name,
        address_line_1,
        address_line_2,
        city,
        state,
        postal_code,
        country,
        country_as_entered,
        source_system,
        is_active,
        has_invalid_email,
        created_at,
        updated_at,
        coalesce(updated_at, created_at, {{ oldest_timestamp() }}) as version_updated_at
    from survivors
)

select * from final
