{#- Every order line of both databases, one row per source row, with the live
    hard-deletion mark and `change_load_id`, the newest load that changed the row or
    its mark.

    Incremental: a build after live-only changes (`changed_since()`) rewrites the rows
    that a load after the last build changed, keyed by (source_system, transaction_id);
    rows never leave this table that way, since dlt keeps every raw row (a hard delete
    is a mark). Any other change rebuilds it whole. -#}
{{ config(
    materialized="incremental",
    incremental_strategy="delete+insert",
    unique_key=["source_system", "transaction_id"],
    full_refresh=env_var("MEDALLION_CHANGED_SINCE", "") == "",
    post_hook=[
        '{{ medallion.table_index(["transaction_id"]) }}',
        '{{ medallion.table_index(["order_number", "order_line_number"]) }}',
        '{{ medallion.table_index(["change_load_id"]) }}',
    ]
) }}
{%- set since = medallion.changed_since() %}
with

archive_transactions as (
    select * from {{ ref("stg_archive__transactions") }}
    {%- if is_incremental() %}
        where load_id > '{{ since }}'
    {%- endif %}
),

live_transactions as (
    select * from {{ ref("stg_live__transactions") }}
),

live_deletions as (
    select * from {{ ref("stg_live__deletions") }}
    where table_name = 'transactions'
),

live_marked as (
    select
        live_transactions.*,
        coalesce(live_deletions.is_deleted, false) as is_deleted,
        case
            when live_deletions.load_id > live_transactions.load_id
                then live_deletions.load_id
            else live_transactions.load_id
        end as change_load_id
    from live_transactions
    left join live_deletions
        on
            cast(live_transactions.transaction_id as {{ medallion.string_type() }})
            = live_deletions.primary_key
),

unioned as (
    select
        *,
        false as is_deleted,
        load_id as change_load_id
    from archive_transactions
    union all
    select * from live_marked
    {%- if is_incremental() %}
        where change_load_id > '{{ since }}'
    {%- endif %}
)

select * from unioned
