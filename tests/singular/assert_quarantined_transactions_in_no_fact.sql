{#- gold.md, quarantine: a transaction with a zero quantity, a null amount, or
    |amount - quantity * unit_price| > 0.01 goes to quarantine.transactions_rejected
    and is in no fact. Returns each rejected transaction found in fct_transactions or
    fct_refunds, by id or by business key (order_number, order_line_number). -#}
with

rejected as (
    select * from {{ ref("transactions_rejected") }}
),

transactions as (
    select * from {{ ref("fct_transactions") }}
),

refunds as (
    select * from {{ ref("fct_refunds") }}
),

in_transactions_by_id as (
    select
        rejected.transaction_id,
        rejected.order_number,
        rejected.order_line_number,
        rejected.reason,
        'fct_transactions.transaction_id' as found_in
    from rejected
    inner join transactions
        on rejected.transaction_id = transactions.transaction_id
),

in_transactions_by_business_key as (
    select
        rejected.transaction_id,
        rejected.order_number,
        rejected.order_line_number,
        rejected.reason,
        'fct_transactions business key' as found_in
    from rejected
    inner join transactions
        on
            rejected.order_number = transactions.order_number
            and rejected.order_line_number = transactions.order_line_number
),

in_refunds as (
    select
        rejected.transaction_id,
        rejected.order_number,
        rejected.order_line_number,
        rejected.reason,
        'fct_refunds.transaction_id' as found_in
    from rejected
    inner join refunds
        on rejected.transaction_id = refunds.transaction_id
)

select * from in_transactions_by_id
union all
select * from in_transactions_by_business_key
union all
select * from in_refunds
