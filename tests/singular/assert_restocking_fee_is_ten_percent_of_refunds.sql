{#- gold.md, restocking_fee: refunds only, round(0.10 * abs(amount), 2) half away from
    zero (var `restocking_fee_rate`); 0 for sales. The expected fee is computed here
    from the sign of the amount (not from `transaction_type`), and rounded by hand in
    cents (floor(x * 100 + 0.5) / 100 is half away from zero for a positive x), so the
    test shares no expression with the model. Returns every line whose fee differs. -#}
with

transactions as (
    select * from {{ ref("fct_transactions") }}
),

expected as (
    select
        transaction_id,
        transaction_type,
        total_amount,
        restocking_fee,
        case
            when total_amount < 0
                then floor(
                    {{ var("restocking_fee_rate") }} * abs(total_amount) * 100 + 0.5
                ) / 100
            else 0
        end as expected_restocking_fee
    from transactions
)

select * from expected
where
    restocking_fee is null
    or restocking_fee <> expected_restocking_fee
