{#- gold.md, fct_refunds: one row per refund line of fct_transactions that is not
    cancelled, amounts positive: quantity_refunded = -quantity, refund_amount =
    -total_amount, the same restocking_fee, refund_net = refund_amount -
    restocking_fee, and the line's customer, product, date and territory. Returns each
    refund line missing from fct_refunds, each extra row, and each differing row. -#}
with

refund_lines as (
    select * from {{ ref("fct_transactions") }}
    where total_amount < 0 and status <> 'Cancelled'
),

refunds as (
    select * from {{ ref("fct_refunds") }}
),

missing_or_different as (
    select
        refund_lines.transaction_id,
        case
            when refunds.transaction_id is null then 'missing from fct_refunds'
            else 'differs from fct_transactions'
        end as failure
    from refund_lines
    left join refunds
        on refund_lines.transaction_id = refunds.transaction_id
    where
        refunds.transaction_id is null
        or refunds.quantity_refunded <> -refund_lines.quantity
        or refunds.refund_amount <> -refund_lines.total_amount
        or refunds.restocking_fee <> refund_lines.restocking_fee
        or refunds.refund_net <> refunds.refund_amount - refunds.restocking_fee
        or refunds.order_number <> refund_lines.order_number
        or refunds.order_date <> refund_lines.order_date
        or coalesce(refunds.customer_id, -1) <> coalesce(refund_lines.customer_id, -1)
        or coalesce(refunds.product_code, '') <> coalesce(refund_lines.product_code, '')
        or coalesce(refunds.territory, '') <> coalesce(refund_lines.territory, '')
),

extra as (
    select
        refunds.transaction_id,
        'not a refund line that counts' as failure
    from refunds
    left join refund_lines
        on refunds.transaction_id = refund_lines.transaction_id
    where refund_lines.transaction_id is null
)

select * from missing_or_different
union all
select * from extra
