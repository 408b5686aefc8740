{#- Sales, refunds and net revenue per territory and fiscal quarter, and each
    territory's share of the quarter's net revenue. Lines on a day the fiscal calendar
    does not cover fall under a null fiscal year and quarter. -#}
with

transactions as (
    select * from {{ ref("fct_transactions") }}
    where not is_cancelled
),

dates as (
    select * from {{ ref("dim_date") }}
),

per_quarter as (
    select
        coalesce(transactions.territory, 'Unknown') as territory,
        dates.fiscal_year,
        dates.fiscal_quarter,
        sum(
            case
                when
                    transactions.transaction_type = 'Sale'
                    then transactions.total_amount
                else 0
            end
        ) as total_sales,
        sum(
            case
                when transactions.transaction_type = 'Refund'
                    then abs(transactions.total_amount)
                else 0
            end
        ) as total_refunds,
        sum(transactions.net_amount) as net_revenue
    from transactions
    left join dates
        on transactions.order_date = dates.date
    group by 1, 2, 3
),

final as (
    select
        territory,
        fiscal_year,
        fiscal_quarter,
        {{ money("total_sales") }} as total_sales,
        {{ money("total_refunds") }} as total_refunds,
        {{ money("net_revenue") }} as net_revenue,
        cast(
            net_revenue / nullif(
                sum(net_revenue) over (partition by fiscal_year, fiscal_quarter), 0
            ) as decimal(9, 6)
        ) as share_of_net_revenue
    from per_quarter
)

select * from final
