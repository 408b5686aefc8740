with

archive_customers as (
    select * from {{ ref("stg_archive__customers") }}
),

live_customers as (
    select * from {{ ref("stg_live__customers") }}
),

live_deletions as (
    select * from {{ ref("stg_live__deletions") }}
    where table_name = 'customers' and is_deleted
),

country_codes as (
    select * from {{ ref("country_codes") }}
),

unioned as (
    select
        *,
        false as is_deleted
    from archive_customers
    union all
    select
        live_customers.*,
        live_deletions.primary_key is not null as is_deleted
    from live_customers
    left join live_deletions
        on
            cast(live_customers.customer_id as {{ medallion.string_type() }})
            = live_deletions.primary_key
),

with_country as (
    select
        unioned.*,
        country_codes.country_code as country
    from unioned
    left join country_codes
        on unioned.country_as_entered = country_codes.country_alias
)

select * from with_country
