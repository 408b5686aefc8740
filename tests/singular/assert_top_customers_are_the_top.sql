{#- gold.md, top_customers: the top 10 (var `top_customers_limit`) of customer_segments
    by total_spent, ranked 1..N. Fails when the list has the wrong length, when a
    customer left out spent more than one in the list, when a better rank spent less,
    when ranks are not 1..N, or when a row disagrees with customer_segments. -#}
with

top_customers as (
    select * from {{ ref("top_customers") }}
),

segments as (
    select * from {{ ref("customer_segments") }}
),

expected_length as (
    select
        case
            when count(*) < {{ var("top_customers_limit") }} then count(*)
            else {{ var("top_customers_limit") }}
        end as expected_rows
    from segments
),

length_check as (
    select
        'wrong number of rows' as failure,
        cast(null as {{ medallion.bigint_type() }}) as customer_id
    from expected_length
    where expected_rows <> (select count(*) from top_customers)
),

rank_check as (
    select
        'ranks are not 1..N' as failure,
        cast(null as {{ medallion.bigint_type() }}) as customer_id
    from top_customers
    having
        count(distinct customer_rank) <> count(*)
        or min(customer_rank) <> 1
        or max(customer_rank) <> count(*)
),

left_out as (
    select
        'a customer left out spent more than one in the list' as failure,
        segments.customer_id
    from segments
    where
        segments.customer_id not in (
            select listed.customer_id from top_customers as listed
        )
        and segments.total_spent > (
            select min(listed.total_spent) from top_customers as listed
        )
),

out_of_order as (
    select
        'a better rank spent less' as failure,
        better.customer_id
    from top_customers as better
    inner join top_customers as worse
        on better.customer_rank < worse.customer_rank
    where better.total_spent < worse.total_spent
),

disagreeing as (
    select
        'row differs from customer_segments' as failure,
        top_customers.customer_id
    from top_customers
    left join segments
        on top_customers.customer_id = segments.customer_id
    where
        segments.customer_id is null
        or top_customers.total_spent <> segments.total_spent
        or top_customers.order_count <> segments.order_count
        or top_customers.customer_segment <> segments.customer_segment
)

select * from length_check
union all
select * from rank_check
union all
select * from left_out
union all
select * from out_of_order
union all
select * from disagreeing
