{#- Revenue per territory and product, ranked within the territory. Lines without a
    territory or product count under 'Unknown'. -#}
with

transactions as (
    select * from {{ ref("fct_transactions") }}
    where not is_cancelled
),

products as (
    select * from {{ ref("dim_product") }}
    where is_current and product_key <> -1
),

per_product as (
    select
        coalesce(transactions.territory, 'Unknown') as territory,
        coalesce(transactions.product_code, 'Unknown') as product_code,
        sum(transactions.net_amount) as total_revenue,
        sum(transactions.quantity) as total_quantity,
        count(
            distinct case
                when
                    transactions.transaction_type = 'Sale'
                    then transactions.order_number
            end
        ) as order_count,
        sum(
            case
                when transactions.transaction_type = 'Sale' then transactions.unit_price
            end
        ) as sale_price_sum,
        count(
            case
                when transactions.transaction_type = 'Sale' then transactions.unit_price
            end
        ) as sale_line_count
    from transactions
    group by 1, 2
),

ranked as (
    select
        per_product.territory,
        per_product.product_code,
        coalesce(products.product_line, 'Unknown') as product_line,
        {{ money("per_product.total_revenue") }} as total_revenue,
        cast(per_product.total_quantity as {{ medallion.bigint_type() }})
            as total_quantity,
        per_product.order_count,
        {{ money(money_divide(
            "per_product.sale_price_sum", "per_product.sale_line_count"
        )) }} as avg_price,
        dense_rank() over (
            partition by per_product.territory order by per_product.total_revenue desc
        ) as revenue_rank,
        {{ money(
            "max(per_product.total_revenue) over (partition by per_product.territory)"
        ) }} as best_revenue
    from per_product
    left join products
        on per_product.product_code = products.product_code
),

final as (
    select
        ranked.*,
        {{ money("best_revenue - total_revenue") }} as revenue_diff_from_best
    from ranked
)

select * from final
