with

archive_products as (
    select * from {{ ref("stg_archive__products") }}
),

live_products as (
    select * from {{ ref("stg_live__products") }}
),

live_deletions as (
    select * from {{ ref("stg_live__deletions") }}
    where table_name = 'products' and is_deleted
),

unioned as (
    select
        *,
        false as is_deleted
    from archive_products
    union all
    select
        live_products.*,
        live_deletions.primary_key is not null as is_deleted
    from live_products
    left join live_deletions
        on live_products.product_code = live_deletions.primary_key
)

select * from unioned
