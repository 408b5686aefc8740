{#- gold.md, monthly_summary, by calendar month of order_date, cancelled lines out:
    total_sales sums sale amounts; total_refunds sums abs(amount) of refunds;
    total_restocking_fees sums the fees; net_revenue = total_sales - total_refunds +
    total_restocking_fees; items_sold and items_refunded sum abs(quantity);
    unique_customers counts distinct customers with any line; order_count counts
    distinct orders with a sale line. Returns each month where a column differs. -#}
with

transactions as (
    select * from {{ ref("fct_transactions") }}
    where status <> 'Cancelled'
),

monthly_summary as (
    select * from {{ ref("monthly_summary") }}
),

per_month as (
    select
        extract(year from order_date) as year_number,
        extract(month from order_date) as month_number,
        sum(case when total_amount > 0 then total_amount else 0 end) as total_sales,
        sum(case when total_amount < 0 then -total_amount else 0 end) as total_refunds,
        sum(restocking_fee) as total_restocking_fees,
        sum(case when total_amount > 0 then abs(quantity) else 0 end) as items_sold,
        sum(case when total_amount < 0 then abs(quantity) else 0 end) as items_refunded,
        count(distinct customer_id) as unique_customers,
        count(distinct case when total_amount > 0 then order_number end) as order_count
    from transactions
    group by 1, 2
)

select
    monthly_summary.year_number,
    monthly_summary.month_number,
    per_month.total_sales as expected_total_sales,
    monthly_summary.total_sales,
    per_month.total_refunds as expected_total_refunds,
    monthly_summary.total_refunds,
    per_month.total_restocking_fees as expected_total_restocking_fees,
    monthly_summary.total_restocking_fees,
    monthly_summary.net_revenue
from monthly_summary
left join per_month
    on
        monthly_summary.year_number = per_month.year_number
        and monthly_summary.month_number = per_month.month_number
where
    per_month.year_number is null
    or monthly_summary.total_sales <> per_month.total_sales
    or monthly_summary.total_refunds <> per_month.total_refunds
    or monthly_summary.total_restocking_fees <> per_month.total_restocking_fees
    or monthly_summary.net_revenue
    <> monthly_summary.total_sales - monthly_summary.total_refunds
    + monthly_summary.total_restocking_fees
    or monthly_summary.items_sold <> per_month.items_sold
    or monthly_summary.items_refunded <> per_month.items_refunded
    or monthly_summary.unique_customers <> per_month.unique_customers
    or monthly_summary.order_count <> per_month.order_count
