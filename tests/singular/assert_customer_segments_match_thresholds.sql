{#- gold.md, total_spent and customer_segment: per customer, total_spent = sum of
    net_amount of the lines that are not cancelled; High when >= 10000 (var
    `high_value_threshold`), Medium when >= 5000 (var `medium_value_threshold`), else
    Low. Both are recomputed here from fct_transactions; every customer with a counted
    line must have a row, and no other customer. Returns each disagreeing customer. -#}
with

transactions as (
    select * from {{ ref("fct_transactions") }}
    where not is_cancelled and customer_id is not null
),

customer_segments as (
    select * from {{ ref("customer_segments") }}
),

spent as (
    select
        customer_id,
        sum(net_amount) as expected_total_spent
    from transactions
    group by 1
),

expected as (
    select
        customer_id,
        expected_total_spent,
        case
            when expected_total_spent >= {{ var("high_value_threshold") }} then 'High'
            when
                expected_total_spent >= {{ var("medium_value_threshold") }}
                then 'Medium'
            else 'Low'
        end as expected_segment
    from spent
),

missing_or_wrong as (
    select
        expected.customer_id,
        expected.expected_total_spent,
        expected.expected_segment,
        customer_segments.total_spent,
        customer_segments.customer_segment
    from expected
    left join customer_segments
        on expected.customer_id = customer_segments.customer_id
    where
        customer_segments.customer_id is null
        or customer_segments.total_spent <> expected.expected_total_spent
        or customer_segments.customer_segment <> expected.expected_segment
),

unexpected as (
    select
        customer_segments.customer_id,
        cast(null as decimal(18, 2)) as expected_total_spent,
        cast(null as {{ medallion.string_type() }}) as expected_segment,
        customer_segments.total_spent,
        customer_segments.customer_segment
    from customer_segments
    left join expected
        on customer_segments.customer_id = expected.customer_id
    where expected.customer_id is null
)

select * from missing_or_wrong
union all
select * from unexpected
