{#- gold.md, cancelled: a line with status Cancelled stays in fct_transactions (with
    is_cancelled) but is excluded from every revenue figure and every mart. Checked
    mart by mart: no cancelled line in fct_refunds, no customer in customer_segments
    whose only lines are cancelled, and each mart's grand total equals the total of
    the lines that are not cancelled (a cancelled line counted anywhere breaks it).
    Returns one row per failed check. -#}
with

transactions as (
    select * from {{ ref("fct_transactions") }}
),

counted as (
    select
        sum(net_amount) as net_revenue,
        sum(case when total_amount > 0 then total_amount else 0 end) as total_sales,
        sum(
            case when customer_id is not null then net_amount else 0 end
        ) as net_revenue_with_customer
    from transactions
    where status <> 'Cancelled'
),

refunds_cancelled as (
    select
        'fct_refunds holds a cancelled line' as failed_check,
        count(*) as offending_rows
    from {{ ref("fct_refunds") }} as refunds
    inner join transactions
        on refunds.transaction_id = transactions.transaction_id
    where transactions.status = 'Cancelled'
),

segments_cancelled_only as (
    select
        'customer_segments holds a customer with only cancelled lines' as failed_check,
        count(*) as offending_rows
    from {{ ref("customer_segments") }} as segments
    where not exists (
        select 1
        from transactions
        where
            transactions.customer_id = segments.customer_id
            and transactions.status <> 'Cancelled'
    )
),

monthly_total as (
    select
        'monthly_summary totals include cancelled lines' as failed_check,
        case
            when
                sum(monthly.net_revenue) = max(counted.net_revenue)
                and sum(monthly.total_sales) = max(counted.total_sales)
                then 0
            else 1
        end as offending_rows
    from {{ ref("monthly_summary") }} as monthly
    cross join counted
),

product_total as (
    select
        'product_performance total_revenue includes cancelled lines' as failed_check,
        case
            when sum(products.total_revenue) = max(counted.net_revenue) then 0 else 1
        end as offending_rows
    from {{ ref("product_performance") }} as products
    cross join counted
),

regional_total as (
    select
        'regional_summary totals include cancelled lines' as failed_check,
        case
            when
                sum(regions.net_revenue) = max(counted.net_revenue)
                and sum(regions.total_sales) = max(counted.total_sales)
                then 0
            else 1
        end as offending_rows
    from {{ ref("regional_summary") }} as regions
    cross join counted
),

segments_total as (
    select
        'customer_segments total_spent includes cancelled lines' as failed_check,
        case
            when sum(segments.total_spent) = max(counted.net_revenue_with_customer)
                then 0
            else 1
        end as offending_rows
    from {{ ref("customer_segments") }} as segments
    cross join counted
),

checks as (
    select * from refunds_cancelled
    union all
    select * from segments_cancelled_only
    union all
    select * from monthly_total
    union all
    select * from product_total
    union all
    select * from regional_total
    union all
    select * from segments_total
)

select * from checks
where offending_rows <> 0
