{#- gold.md, customer_segments: order_count = distinct order_numbers with at least one
    sale line; avg_order_value = total_spent / order_count (null when no orders), to
    the cent (within half a cent, compared exactly by multiplying out);
    unique_products = distinct product_codes among sale lines; first and last order
    dates span the customer's lines. Only lines that are not cancelled count.
    Recomputed from fct_transactions; returns each disagreeing customer. -#}
with

transactions as (
    select * from {{ ref("fct_transactions") }}
    where status <> 'Cancelled' and customer_id is not null
),

segments as (
    select * from {{ ref("customer_segments") }}
),

per_customer as (
    select
        customer_id,
        sum(net_amount) as total_spent,
        count(distinct case when total_amount > 0 then order_number end) as order_count,
        count(
            distinct case when total_amount > 0 then product_code end
        ) as unique_products,
        min(order_date) as first_order_date,
        max(order_date) as last_order_date
    from transactions
    group by 1
)

select
    segments.customer_id,
    per_customer.order_count as expected_order_count,
    segments.order_count,
    per_customer.unique_products as expected_unique_products,
    segments.unique_products,
    segments.total_spent,
    segments.avg_order_value,
    per_customer.first_order_date as expected_first_order_date,
    segments.first_order_date,
    per_customer.last_order_date as expected_last_order_date,
    segments.last_order_date
from segments
inner join per_customer
    on segments.customer_id = per_customer.customer_id
where
    segments.order_count <> per_customer.order_count
    or segments.unique_products <> per_customer.unique_products
    or (per_customer.order_count = 0 and segments.avg_order_value is not null)
    or (
        per_customer.order_count > 0
        and (
            segments.avg_order_value is null
            or abs(
                segments.avg_order_value * per_customer.order_count
                - per_customer.total_spent
            ) > 0.005 * per_customer.order_count
        )
    )
    or segments.first_order_date <> per_customer.first_order_date
    or segments.last_order_date <> per_customer.last_order_date
