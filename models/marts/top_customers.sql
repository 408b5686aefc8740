{#- The best customers by total spent (var `top_customers_limit`); ties broken by the
    lower customer_id so the list always has the same length and order. -#}
with

segments as (
    select * from {{ ref("customer_segments") }}
),

customers as (
    select * from {{ ref("dim_customer") }}
    where is_current and customer_key <> -1
),

ranked as (
    select
        row_number() over (
            order by segments.total_spent desc, segments.customer_id asc
        ) as customer_rank,
        segments.customer_id,
        segments.full_name,
        customers.email,
        segments.total_spent,
        segments.order_count,
        segments.customer_segment
    from segments
    left join customers
        on segments.customer_id = customers.customer_id
),

final as (
    select * from ranked
    where customer_rank <= {{ var("top_customers_limit") }}
)

select * from final
