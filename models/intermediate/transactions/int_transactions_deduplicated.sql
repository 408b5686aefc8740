{#- One row per transaction (gold rules 1 and 2), each with its verdict: the rows of
    `int_transactions_ranked` that rank first for their business key. Rows that break
    a rule keep a `rejection_reason`; the fact takes the rest, the quarantine takes
    these. A view: a filter on that table's rows, cheap for every reader.
    `rewritten_since` lets the tests check only the rows an incremental build wrote. -#}
{{ config(materialized="view") }}
with

ranked as (
    select * from {{ ref("int_transactions_ranked") }}
),

deduplicated as (
    select
        transaction_id,
        order_number,
        customer_id,
        product_code,
        status,
        territory,
        source_system,
        load_id,
        rejection_reason,
        order_line_number,
        quantity,
        unit_price,
        amount,
        is_deleted,
        transaction_at,
        updated_at,
        rewritten_since
    from ranked
    where business_key_rank = 1
)

select * from deduplicated
