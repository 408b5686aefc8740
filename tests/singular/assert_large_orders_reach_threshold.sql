{#- gold.md, is_large_order: the order's sale lines (amount > 0, not cancelled) sum to
    >= 5000 (var `large_order_threshold`). Every line of the order, refunds and
    cancelled lines included, carries the order's flag. Returns each line whose flag
    disagrees with the sum recomputed here. An incremental build checks
    the orders it wrote a line of, with all their lines. -#}
with

transactions as (
    select * from {{ ref("fct_transactions") }}
    {%- if medallion.changed_since() %}
        where order_number in (
            select order_number from {{ ref("fct_transactions") }}
            where {{ medallion.written_by_this_build("rewritten_since") }}
        )
    {%- endif %}
),

order_sales as (
    select
        order_number,
        sum(
            case when total_amount > 0 and not is_cancelled then total_amount else 0 end
        ) as sale_amount
    from transactions
    group by 1
),

compared as (
    select
        transactions.transaction_id,
        transactions.order_number,
        order_sales.sale_amount,
        transactions.is_large_order,
        case
            when order_sales.sale_amount >= {{ var("large_order_threshold") }} then 1
            else 0
        end as expected_large_order,
        case when transactions.is_large_order then 1 else 0 end as actual_large_order
    from transactions
    inner join order_sales
        on transactions.order_number = order_sales.order_number
)

select * from compared
where
    is_large_order is null
    or actual_large_order <> expected_large_order
