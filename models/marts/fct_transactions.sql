{#- One row per accepted transaction line, with the business rules of spec/gold.md.
    Cancelled lines are kept (`is_cancelled`); rows deleted at source or rejected to
    quarantine are not. Each line points at the customer and product version valid at
    its transaction time (the earliest version when it predates them all, the latest
    when it follows a closed one), or at the unknown member (-1).

    `mapped` carries each line's order sale total as a window: besides is_large_order,
    a CTE with a window function is computed once on MySQL, where a plain one is
    merged into each of its three readers and the join on the computed survivor id
    then runs over every combination of rows (minutes instead of a second). -#}
{{ config(
    post_hook=[
        '{{ medallion.table_index(["transaction_id"]) }}',
    ]
) }}
with

transactions as (
    select * from {{ ref("int_transactions_deduplicated") }}
    where rejection_reason is null and not is_deleted
),

id_map as (
    select * from {{ ref("int_customer_id_map") }}
),

customers as (
    select * from {{ ref("dim_customer") }}
    where customer_key <> -1
),

products as (
    select * from {{ ref("dim_product") }}
    where product_key <> -1
),

mapped as (
    select
        transactions.*,
        coalesce(id_map.survivor_customer_id, transactions.customer_id) as survivor_id,
        case
            when transactions.order_number is not null
                then sum(
                    case
                        when
                            transactions.amount > 0
                            and transactions.status <> 'Cancelled'
                            then transactions.amount
                    end
                ) over (partition by transactions.order_number)
        end as order_sale_amount
    from transactions
    left join id_map
        on transactions.customer_id = id_map.customer_id
),

customer_versions as (
    select
        mapped.transaction_id,
        customers.customer_key,
        row_number() over (
            partition by mapped.transaction_id
            order by {{ version_choice(
                "mapped.transaction_at", "customers.valid_from", "customers.valid_to"
            ) }}
        ) as version_choice
    from mapped
    inner join customers
        on mapped.survivor_id = customers.customer_id
),

product_versions as (
    select
        mapped.transaction_id,
        products.product_key,
        row_number() over (
            partition by mapped.transaction_id
            order by {{ version_choice(
                "mapped.transaction_at", "products.valid_from", "products.valid_to"
            ) }}
        ) as version_choice
    from mapped
    inner join products
        on mapped.product_code = products.product_code
),

ruled as (
    select
        mapped.transaction_id as transaction_key,
        mapped.transaction_id,
        mapped.order_number,
        mapped.order_line_number,
        mapped.survivor_id as customer_id,
        coalesce(customer_versions.customer_key, -1) as customer_key,
        mapped.product_code,
        coalesce(product_versions.product_key, -1) as product_key,
        cast(mapped.transaction_at as date) as order_date,
        mapped.quantity,
        mapped.unit_price,
        {{ money("mapped.amount") }} as total_amount,
        case when mapped.amount > 0 then 'Sale' else 'Refund' end as transaction_type,
        {{ money(
            "case when mapped.amount < 0 then round("
            ~ var("restocking_fee_rate") ~ " * abs(mapped.amount), 2) else 0 end"
        ) }} as restocking_fee,
        case
            when abs(mapped.amount) < {{ var("deal_size_small_below") }} then 'Small'
            when abs(mapped.amount) < {{ var("deal_size_medium_below") }} then 'Medium'
            else 'Large'
        end as deal_size,
        coalesce(
            mapped.order_sale_amount >= {{ var("large_order_threshold") }}, false
        ) as is_large_order,
        mapped.territory,
        mapped.status,
        mapped.status = 'Cancelled' as is_cancelled,
        mapped.source_system,
        mapped.transaction_at
    from mapped
    left join customer_versions
        on
            mapped.transaction_id = customer_versions.transaction_id
            and customer_versions.version_choice = 1
    left join product_versions
        on
            mapped.transaction_id = product_versions.transaction_id
            and product_versions.version_choice = 1
),

final as (
    select
        transaction_key,
        transaction_id,
        order_number,
        order_line_number,
        customer_id,
        customer_key,
        product_code,
        product_key,
        order_date,
        quantity,
        unit_price,
        total_amount,
        transaction_type,
        restocking_fee,
        {{ money("total_amount + restocking_fee") }} as net_amount,
        deal_size,
        is_large_order,
        territory,
        status,
        is_cancelled,
        source_system,
        transaction_at
    from ruled
)

select * from final
