{#- Transactions that break a rule, whole, with the reason and the load they came from.
    They are in no fact; nothing rejected is dropped. -#}
with

transactions as (
    select * from {{ ref("int_transactions_deduplicated") }}
),

rejected as (
    select
        transaction_id,
        order_number,
        customer_id,
        product_code,
        status,
        territory,
        source_system,
        load_id,
        rejection_reason as reason,
        order_line_number,
        quantity,
        unit_price,
        amount,
        is_deleted,
        transaction_at,
        updated_at
    from transactions
    where rejection_reason is not null
)

select * from rejected
