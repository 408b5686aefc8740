{#- gold.md, quarantine, both ways: every line of fct_transactions passes the rules (a
    non-zero quantity, an amount, |amount - quantity * unit_price| <= var
    `amount_tolerance`, an accepted status, a transaction date up to var
    `max_valid_date`), and every row of transactions_rejected breaks the rule its
    reason names (a NULL where the rule needs a value does not). Returns each row on the
    wrong side. -#}
with

transactions as (
    select * from {{ ref("fct_transactions") }}
),

rejected as (
    select * from {{ ref("transactions_rejected") }}
),

facts_breaking_a_rule as (
    select
        transaction_id,
        'fct_transactions' as model_name,
        cast(null as {{ medallion.string_type() }}) as reason,
        quantity,
        unit_price,
        total_amount as amount
    from transactions
    where
        quantity is null
        or quantity = 0
        or unit_price is null
        or total_amount is null
        or abs(total_amount - quantity * unit_price) > {{ var("amount_tolerance") }}
        or status is null
        or status not in (
            {%- for value in var("transaction_statuses") %}
                '{{ value }}'{{ "," if not loop.last }}
            {%- endfor %}
        )
        or transaction_at is null
        or cast(transaction_at as date) > cast('{{ var("max_valid_date") }}' as date)
),

rejections_without_cause as (
    select
        transaction_id,
        'transactions_rejected' as model_name,
        reason,
        quantity,
        unit_price,
        amount
    from rejected
    -- a case, not `not (...)`: a rule on a NULL is unknown, and must count as broken
    where
        case
            when reason = 'zero quantity' and quantity = 0 then 1
            when reason = 'null amount' and amount is null then 1
            when
                reason = 'null quantity or unit price'
                and (quantity is null or unit_price is null)
                then 1
            when
                reason = 'amount differs from quantity * unit_price'
                and abs(amount - quantity * unit_price) > {{ var("amount_tolerance") }}
                then 1
            when reason = 'empty status' and status is null then 1
            when
                reason = 'unknown status'
                and status not in (
                    {%- for value in var("transaction_statuses") %}
                        '{{ value }}'{{ "," if not loop.last }}
                    {%- endfor %}
                )
                then 1
            when
                reason = 'null or zero transaction date' and transaction_at is null
                then 1
            when
                reason = 'transaction date after max_valid_date'
                and cast(transaction_at as date)
                > cast('{{ var("max_valid_date") }}' as date)
                then 1
            else 0
        end = 0
)

select * from facts_breaking_a_rule
union all
select * from rejections_without_cause
