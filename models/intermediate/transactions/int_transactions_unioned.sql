{{ config(
    post_hook=[
        '{{ medallion.table_index(["transaction_id"]) }}',
        '{{ medallion.table_index(["order_number", "order_line_number"]) }}',
    ]
) }}
with

archive_transactions as (
    select * from {{ ref("stg_archive__transactions") }}
),

live_transactions as (
    select * from {{ ref("stg_live__transactions") }}
),

live_deletions as (
    select * from {{ ref("stg_live__deletions") }}
    where table_name = 'transactions' and is_deleted
),

unioned as (
    select
        *,
        false as is_deleted
    from archive_transactions
    union all
    select
        live_transactions.*,
        live_deletions.primary_key is not null as is_deleted
    from live_transactions
    left join live_deletions
        on
            cast(live_transactions.transaction_id as {{ medallion.string_type() }})
            = live_deletions.primary_key
)

select * from unioned
