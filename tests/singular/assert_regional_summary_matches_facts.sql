{#- gold.md, regional_summary: per territory and fiscal quarter (from dim_date),
    cancelled lines out, total_sales, total_refunds and net_revenue (= sum of
    net_amount) of the lines, and share_of_net_revenue = the territory's net revenue
    over the quarter's. Grouped through a union so that a null fiscal quarter (a day
    the calendar does not cover) is compared like any other. Returns each
    disagreeing territory and quarter. -#}
with

transactions as (
    select * from {{ ref("fct_transactions") }}
    where status <> 'Cancelled'
),

dates as (
    select * from {{ ref("dim_date") }}
),

regional_summary as (
    select * from {{ ref("regional_summary") }}
),

fact_lines as (
    select
        coalesce(transactions.territory, 'Unknown') as territory,
        dates.fiscal_year,
        dates.fiscal_quarter,
        case
            when transactions.total_amount > 0 then transactions.total_amount else 0
        end as expected_sales,
        case
            when transactions.total_amount < 0 then -transactions.total_amount else 0
        end as expected_refunds,
        transactions.net_amount as expected_net_revenue,
        cast(null as decimal(18, 2)) as total_sales,
        cast(null as decimal(18, 2)) as total_refunds,
        cast(null as decimal(18, 2)) as net_revenue,
        0 as summary_rows
    from transactions
    left join dates
        on transactions.order_date = dates.date
),

summary_lines as (
    select
        territory,
        fiscal_year,
        fiscal_quarter,
        cast(null as decimal(18, 2)) as expected_sales,
        cast(null as decimal(18, 2)) as expected_refunds,
        cast(null as decimal(18, 2)) as expected_net_revenue,
        total_sales,
        total_refunds,
        net_revenue,
        1 as summary_rows
    from regional_summary
),

compared as (
    select
        territory,
        fiscal_year,
        fiscal_quarter,
        sum(expected_sales) as expected_sales,
        sum(total_sales) as total_sales,
        sum(expected_refunds) as expected_refunds,
        sum(total_refunds) as total_refunds,
        sum(expected_net_revenue) as expected_net_revenue,
        sum(net_revenue) as net_revenue,
        sum(summary_rows) as summary_rows
    from (
        select * from fact_lines
        union all
        select * from summary_lines
    ) as both_sides
    group by 1, 2, 3
),

amounts_differ as (
    select
        territory,
        fiscal_year,
        fiscal_quarter,
        'amounts differ from the facts' as failure
    from compared
    where
        summary_rows <> 1
        or expected_net_revenue is null
        or total_sales <> expected_sales
        or total_refunds <> expected_refunds
        or net_revenue <> expected_net_revenue
),

quarter_totals as (
    select
        fiscal_year,
        fiscal_quarter,
        sum(net_revenue) as quarter_net_revenue
    from regional_summary
    group by 1, 2
),

share_differs as (
    select
        regional_summary.territory,
        regional_summary.fiscal_year,
        regional_summary.fiscal_quarter,
        'share_of_net_revenue differs' as failure
    from regional_summary
    inner join quarter_totals
        on
            coalesce(regional_summary.fiscal_year, -1)
            = coalesce(quarter_totals.fiscal_year, -1)
            and coalesce(regional_summary.fiscal_quarter, -1)
            = coalesce(quarter_totals.fiscal_quarter, -1)
    where
        quarter_totals.quarter_net_revenue <> 0
        and (
            regional_summary.share_of_net_revenue is null
            or abs(
                regional_summary.share_of_net_revenue
                - regional_summary.net_revenue / quarter_totals.quarter_net_revenue
            ) > 0.000001
        )
)

select * from amounts_differ
union all
select * from share_differs
