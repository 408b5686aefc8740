{#- One row per product_code (gold rule 1): latest `updated_at` wins, missing counts
    as the oldest, on a tie the live row wins. -#}
with

products as (
    select * from {{ ref("int_products_unioned") }}
),

ranked as (
    select
        products.*,
        {{ dedup_row_number(
            ["product_code"],
            ["coalesce(updated_at, " ~ oldest_timestamp() ~ ") desc", source_priority()]
        ) }} as version_rank
    from products
),

deduplicated as (
    select
        products.*,
        coalesce(products.updated_at, {{ oldest_timestamp() }}) as version_updated_at
    from ranked as products
    where products.version_rank = 1
)

select * from deduplicated
