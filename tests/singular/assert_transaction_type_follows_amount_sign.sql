{#- gold.md, transaction_type: Sale when amount > 0, Refund when amount < 0. Returns
    each line labelled against the sign of its amount (a zero amount is neither). -#}
select
    transaction_id,
    total_amount,
    transaction_type
from {{ ref("fct_transactions") }}
where
    transaction_type is null
    or not (
        (transaction_type = 'Sale' and total_amount > 0)
        or (transaction_type = 'Refund' and total_amount < 0)
    )
