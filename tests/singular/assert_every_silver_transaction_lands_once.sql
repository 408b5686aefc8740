{#- Gold rule 6 and the history rules: every row of int_transactions_deduplicated ends
    in exactly one place. A row with a rejection reason is in transactions_rejected and
    in no fact; a row hard-deleted in the live database is in no fact; every other row
    is in fct_transactions. Returns each row in the wrong place (or in none). An
    incremental build checks the silver rows it wrote. -#}
with

silver as (
    select * from {{ ref("int_transactions_deduplicated") }}
    where {{ medallion.written_by_this_build("rewritten_since") }}
),

transactions as (
    select transaction_id from {{ ref("fct_transactions") }}
),

rejected as (
    select transaction_id from {{ ref("transactions_rejected") }}
),

placed as (
    select
        silver.transaction_id,
        silver.rejection_reason,
        silver.is_deleted,
        case
            when silver.rejection_reason is not null then 'quarantine'
            when silver.is_deleted then 'nowhere (deleted at source)'
            else 'fct_transactions'
        end as expected_place,
        case
            when transactions.transaction_id is not null then 1 else 0
        end as in_fact,
        case
            when rejected.transaction_id is not null then 1 else 0
        end as in_quarantine
    from silver
    left join transactions
        on silver.transaction_id = transactions.transaction_id
    left join rejected
        on silver.transaction_id = rejected.transaction_id
)

select * from placed
where
    (expected_place = 'quarantine' and (in_quarantine <> 1 or in_fact <> 0))
    or (
        expected_place = 'nowhere (deleted at source)'
        and (in_quarantine <> 0 or in_fact <> 0)
    )
    or (expected_place = 'fct_transactions' and (in_quarantine <> 0 or in_fact <> 1))
