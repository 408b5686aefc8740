{#- One row per customer (the survivor id) with any line that counts: what they spent,
    net of refunds and restocking fees, and the segment it puts them in. -#}
with

transactions as (
    select * from {{ ref("fct_transactions") }}
    where not is_cancelled and customer_id is not null
),

customers as (
    select * from {{ ref("dim_customer") }}
    where is_current and customer_key <> -1
),

per_customer as (
    select
        customer_id,
        sum(net_amount) as total_spent,
        count(
            distinct case when transaction_type = 'Sale' then order_number end
        ) as order_count,
        count(
            distinct case when transaction_type = 'Sale' then product_code end
        ) as unique_products,
        min(order_date) as first_order_date,
        max(order_date) as last_order_date
    from transactions
    group by 1
),

segmented as (
    select
        per_customer.customer_id,
        customers.full_name,
        {{ money("per_customer.total_spent") }} as total_spent,
        per_customer.order_count,
        {{ money(money_divide(
            "per_customer.total_spent", "per_customer.order_count"
        )) }} as avg_order_value,
        per_customer.unique_products,
        case
            when
                per_customer.total_spent >= {{ var("high_value_threshold") }}
                then 'High'
            when per_customer.total_spent >= {{ var("medium_value_threshold") }}
                then 'Medium'
            else 'Low'
        end as customer_segment,
        per_customer.first_order_date,
        per_customer.last_order_date
    from per_customer
    left join customers
        on per_customer.customer_id = customers.customer_id
)

select * from segmented
