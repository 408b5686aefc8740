{#- gold.md, monthly_summary: per calendar month of order_date, net_revenue = the sum of
    net_amount of the fct_transactions lines that are not cancelled (= total_sales -
    total_refunds + total_restocking_fees). A month on one side only is a failure too.
    Written without a full outer join so that it runs on MySQL. -#}
with

transactions as (
    select * from {{ ref("fct_transactions") }}
    where not is_cancelled
),

monthly_summary as (
    select * from {{ ref("monthly_summary") }}
),

fact_months as (
    select
        extract(year from order_date) as year_number,
        extract(month from order_date) as month_number,
        sum(net_amount) as expected_net_revenue
    from transactions
    group by 1, 2
),

both_sides as (
    select
        year_number,
        month_number,
        expected_net_revenue,
        cast(null as decimal(18, 2)) as net_revenue,
        1 as from_facts,
        0 as from_summary
    from fact_months
    union all
    select
        year_number,
        month_number,
        cast(null as decimal(18, 2)) as expected_net_revenue,
        net_revenue,
        0 as from_facts,
        1 as from_summary
    from monthly_summary
),

compared as (
    select
        year_number,
        month_number,
        sum(expected_net_revenue) as expected_net_revenue,
        sum(net_revenue) as net_revenue,
        sum(from_facts) as fact_rows,
        sum(from_summary) as summary_rows
    from both_sides
    group by 1, 2
)

select * from compared
where
    fact_rows <> 1
    or summary_rows <> 1
    or net_revenue is null
    or net_revenue <> expected_net_revenue
