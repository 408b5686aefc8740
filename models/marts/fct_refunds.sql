{#- One row per refund line that counts (not cancelled). Amounts are positive; the
    customer gets back `refund_net` = `refund_amount` - `restocking_fee`. -#}
with

transactions as (
    select * from {{ ref("fct_transactions") }}
),

refunds as (
    select
        transaction_id,
        order_number,
        customer_id,
        product_code,
        territory,
        abs(quantity) as quantity_refunded,
        {{ money("abs(total_amount)") }} as refund_amount,
        restocking_fee,
        {{ money("abs(total_amount) - restocking_fee") }} as refund_net,
        order_date
    from transactions
    where transaction_type = 'Refund' and not is_cancelled
)

select * from refunds
