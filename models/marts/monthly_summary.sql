{#- Sales, refunds and net revenue per calendar month of `order_date`; cancelled lines
    excluded. net_revenue = total_sales - total_refunds + total_restocking_fees. -#}
with

transactions as (
    select * from {{ ref("fct_transactions") }}
    where not is_cancelled
),

monthly as (
    select
        extract(year from order_date) as year_number,
        extract(month from order_date) as month_number,
        sum(case when transaction_type = 'Sale' then total_amount else 0 end)
            as total_sales,
        sum(
            case when transaction_type = 'Refund' then abs(total_amount) else 0 end
        ) as total_refunds,
        sum(restocking_fee) as total_restocking_fees,
        sum(case when transaction_type = 'Sale' then abs(quantity) else 0 end)
            as items_sold,
        sum(
            case when transaction_type = 'Refund' then abs(quantity) else 0 end
        ) as items_refunded,
        count(distinct customer_id) as unique_customers,
        count(
            distinct case when transaction_type = 'Sale' then order_number end
        ) as order_count
    from transactions
    group by 1, 2
),

final as (
    select
        cast(year_number as {{ medallion.int_type() }}) as year_number,
        cast(month_number as {{ medallion.int_type() }}) as month_number,
        {{ money("total_sales") }} as total_sales,
        {{ money("total_refunds") }} as total_refunds,
        {{ money("total_sales - total_refunds + total_restocking_fees") }}
            as net_revenue,
        cast(items_sold as {{ medallion.bigint_type() }}) as items_sold,
        cast(items_refunded as {{ medallion.bigint_type() }}) as items_refunded,
        {{ money("total_restocking_fees") }} as total_restocking_fees,
        unique_customers,
        order_count
    from monthly
)

select * from final
