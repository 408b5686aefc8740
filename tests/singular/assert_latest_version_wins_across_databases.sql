{#- Gold rule 1: a row with the same primary key in archive and live is one row; the
    version with the latest updated_at wins, a zero or missing updated_at counts as the
    oldest, and on a tie the live row wins. Checked for customers and products: returns
    each kept row that another version of the same key beats. -#}
with

customers_unioned as (
    select
        customer_id,
        cast(customer_id as {{ medallion.string_type() }}) as record_key,
        source_system,
        coalesce(updated_at, {{ oldest_timestamp() }}) as recency
    from {{ ref("int_customers_unioned") }}
),

customers_kept as (
    select
        customer_id,
        cast(customer_id as {{ medallion.string_type() }}) as record_key,
        source_system,
        coalesce(updated_at, {{ oldest_timestamp() }}) as recency
    from {{ ref("int_customers_deduplicated") }}
),

products_unioned as (
    select
        product_code as record_key,
        source_system,
        coalesce(updated_at, {{ oldest_timestamp() }}) as recency
    from {{ ref("int_products_unioned") }}
),

products_kept as (
    select
        product_code as record_key,
        source_system,
        coalesce(updated_at, {{ oldest_timestamp() }}) as recency
    from {{ ref("int_products_deduplicated") }}
),

beaten_customers as (
    select
        'customers' as entity,
        kept.record_key,
        kept.source_system,
        kept.recency,
        rival.source_system as winning_source_system,
        rival.recency as winning_recency
    from customers_kept as kept
    inner join customers_unioned as rival
        -- on the id itself: MariaDB joins on a cast only by comparing every pair
        on
            kept.customer_id = rival.customer_id
            and (
                kept.recency < rival.recency
                or (
                    kept.recency = rival.recency
                    and rival.source_system = 'live'
                    and kept.source_system <> 'live'
                )
            )
),

beaten_products as (
    select
        'products' as entity,
        kept.record_key,
        kept.source_system,
        kept.recency,
        rival.source_system as winning_source_system,
        rival.recency as winning_recency
    from products_kept as kept
    inner join products_unioned as rival
        on
            kept.record_key = rival.record_key
            and (
                kept.recency < rival.recency
                or (
                    kept.recency = rival.recency
                    and rival.source_system = 'live'
                    and kept.source_system <> 'live'
                )
            )
)

select * from beaten_customers
union all
select * from beaten_products
