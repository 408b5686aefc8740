{#- Gold rules 1 and 2: two transactions with the same (order_number,
    order_line_number), in one database or across both, are one; the latest updated_at
    wins (missing = oldest), then live over archive, then the lowest transaction_id.
    Returns each surviving row of int_transactions_deduplicated that a row of
    int_transactions_unioned with the same business key beats. An incremental build
    checks the survivors it wrote. -#}
with

unioned as (
    select
        transaction_id,
        order_number,
        order_line_number,
        source_system,
        coalesce(updated_at, {{ oldest_timestamp() }}) as recency
    from {{ ref("int_transactions_unioned") }}
),

kept as (
    select
        transaction_id,
        order_number,
        order_line_number,
        source_system,
        coalesce(updated_at, {{ oldest_timestamp() }}) as recency
    from {{ ref("int_transactions_deduplicated") }}
    where {{ medallion.written_by_this_build("rewritten_since") }}
)

select
    kept.order_number,
    kept.order_line_number,
    kept.transaction_id,
    kept.source_system,
    kept.recency,
    rival.transaction_id as winning_transaction_id,
    rival.source_system as winning_source_system,
    rival.recency as winning_recency
from kept
inner join unioned as rival
    on
        kept.order_number = rival.order_number
        and kept.order_line_number = rival.order_line_number
where
    rival.recency > kept.recency
    or (
        rival.recency = kept.recency
        and rival.source_system = 'live'
        and kept.source_system <> 'live'
    )
    or (
        rival.recency = kept.recency
        and rival.source_system = kept.source_system
        and rival.transaction_id < kept.transaction_id
    )
