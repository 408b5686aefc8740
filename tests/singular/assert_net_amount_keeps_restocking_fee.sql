{#- gold.md, net_amount: sales, amount; refunds, amount + restocking_fee (the company
    keeps the fee, so a refund costs it less than its amount). Returns each line whose
    net_amount differs. -#}
select
    transaction_id,
    total_amount,
    restocking_fee,
    net_amount
from {{ ref("fct_transactions") }}
where
    net_amount is null
    or (total_amount > 0 and net_amount <> total_amount)
    or (total_amount < 0 and net_amount <> total_amount + restocking_fee)
