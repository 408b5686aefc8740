{#- One row per customer_id (gold rule 1): the version with the latest `updated_at`
    wins, a zero or missing one counts as the oldest, and on a tie the live row wins.
    Indexed on MySQL on the keys its readers and tests look customers up by. -#}
{{ config(
    post_hook=[
        '{{ medallion.table_index(["customer_id"]) }}',
        '{{ medallion.table_index(["email"]) }}',
    ],
) }}
with

customers as (
    select * from {{ ref("int_customers_unioned") }}
),

ranked as (
    select
        customers.*,
        {{ dedup_row_number(
            ["customer_id"],
            ["coalesce(updated_at, " ~ oldest_timestamp() ~ ") desc", source_priority()]
        ) }} as version_rank
    from customers
),

deduplicated as (
    select * from ranked
    where version_rank = 1
)

select * from deduplicated
