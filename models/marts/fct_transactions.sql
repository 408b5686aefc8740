{#- One row per accepted transaction line, with the business rules of
    docs/contracts/gold.md.
    Cancelled lines are kept (`is_cancelled`); rows deleted at source or rejected to
    quarantine are not. Each line points at the customer and product version valid at
    its transaction time (the earliest version when it predates them all, the latest
    when it follows a closed one), or at the unknown member (-1).

    `mapped` carries each line's order sale total as a window: besides is_large_order,
    a CTE with a window function is computed once on MySQL, where a plain one is
    merged into each of its three readers and the join on the computed survivor id
    then runs over every combination of rows (minutes instead of a second).

    Incremental (`changed_since()`): a line's row depends on its silver row, its
    customer's survivor and versions, its product's versions and its order's other
    lines. The lines rewritten are those whose silver row was (`rewritten_since`),
    those of every customer id a later load touched, of the survivor it maps to now
    and of the one it mapped to (its lines here, by `source_customer_id`), those of
    every product a later load touched, and then every line of an order any of them
    is in, before or now. Each gets its row again, or, when it left the fact (deleted,
    rejected, beaten to its business key), its old row without a `transaction_key`,
    which the post-hook deletes. Keys of versions are stable across builds (`version_keys`), so
    the lines left alone still point at the right ones. Each line carries the watermark
    it was written under (`rewritten_since`, empty after a whole build), so that the
    tests of an incremental build check the lines it wrote.

    On Spark an incremental build rebuilds the fact whole (stamped with the watermark
    all the same): Spark plans every read of a CTE anew, and the chain above becomes a
    statement of 620 joins that ran out of memory, where the whole fact takes seconds
    (docs/spark.md, "Incremental builds"). -#}
{{ config(
    materialized="incremental",
    incremental_strategy="delete+insert",
    unique_key="transaction_id",
    full_refresh=env_var("MEDALLION_CHANGED_SINCE", "") == "" or target.type == "spark",
    post_hook=[
        "{{ medallion.delete_where(this, 'transaction_key is null') }}",
        '{{ medallion.table_index(["transaction_id"]) }}',
        '{{ medallion.table_index(["customer_id"]) }}',
        '{{ medallion.table_index(["source_customer_id"]) }}',
        '{{ medallion.table_index(["product_code"]) }}',
        '{{ medallion.table_index(["order_number"]) }}',
        '{{ medallion.table_index(["rewritten_since"]) }}',
    ]
) }}
{%- set since = medallion.changed_since() %}
-- read by incremental builds only:
-- depends_on: {{ ref("stg_live__customers") }}, {{ ref("stg_live__products") }}
-- depends_on: {{ ref("stg_live__deletions") }}, {{ ref("int_transactions_ranked") }}
with

accepted as (
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

{% if is_incremental() -%}
-- the customer ids and product codes a load after the last build touched
touched_customers as (
    select customer_id from {{ ref("stg_live__customers") }}
    where load_id > '{{ since }}'
    union
    select {{ medallion.try_cast("primary_key", medallion.bigint_type()) }}
    from {{ ref("stg_live__deletions") }}
    where table_name = 'customers' and load_id > '{{ since }}'
),

touched_products as (
    select product_code from {{ ref("stg_live__products") }}
    where load_id > '{{ since }}'
    union
    select primary_key from {{ ref("stg_live__deletions") }}
    where table_name = 'products' and load_id > '{{ since }}'
),

-- those customers, the survivors they map to now, and the ones they mapped to before
affected_customers as (
    select customer_id from touched_customers
    union
    select survivor_customer_id from id_map
    where customer_id in (select customer_id from touched_customers)
    union
    select customer_id from {{ this }}
    where source_customer_id in (select customer_id from touched_customers)
),

accepted_mapped as (
    select
        accepted.transaction_id,
        accepted.order_number,
        accepted.product_code,
        coalesce(id_map.survivor_customer_id, accepted.customer_id) as survivor_id
    from accepted
    left join id_map
        on accepted.customer_id = id_map.customer_id
),

touched_lines as (
    select transaction_id from {{ ref("int_transactions_ranked") }}
    where rewritten_since >= '{{ since }}'
    union
    select transaction_id from {{ this }}
    where
        customer_id in (select customer_id from affected_customers)
        or product_code in (select product_code from touched_products)
    union
    select transaction_id from accepted_mapped
    where
        survivor_id in (select customer_id from affected_customers)
        or product_code in (select product_code from touched_products)
),

touched_orders as (
    select order_number from {{ this }}
    where transaction_id in (select transaction_id from touched_lines)
    union
    select order_number from accepted_mapped
    where transaction_id in (select transaction_id from touched_lines)
),

rewritten_lines as (
    select transaction_id from touched_lines
    union
    select transaction_id from {{ this }}
    where order_number in (select order_number from touched_orders)
    union
    select transaction_id from accepted_mapped
    where order_number in (select order_number from touched_orders)
),

transactions as (
    select * from accepted
    where transaction_id in (select transaction_id from rewritten_lines)
),

{% else %}

    transactions as (
        select * from accepted
    ),
{%- endif %}

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
        mapped.customer_id as source_customer_id,
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
        mapped.transaction_at,
        cast('{{ since }}' as char(32)) as rewritten_since
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
        source_customer_id,
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
        transaction_at,
        rewritten_since
    from ruled
)

{% if is_incremental() -%}
-- the rewritten lines that left the fact: their old rows again, without a key, which
-- the post-hook deletes once the delete+insert has removed the old rows themselves
-- (the other columns as they were: MySQL made some of them not null)
, departed as (
    select * from {{ this }}
    where
        transaction_id in (select transaction_id from rewritten_lines)
        and transaction_id not in (select transaction_id from final)
)

select * from final
union all
select
    null as transaction_key,
    {%- for column in [
        "transaction_id", "order_number", "order_line_number", "customer_id",
        "source_customer_id", "customer_key", "product_code", "product_key",
        "order_date", "quantity", "unit_price", "total_amount", "transaction_type",
        "restocking_fee", "net_amount", "deal_size", "is_large_order", "territory",
        "status", "is_cancelled", "source_system", "transaction_at", "rewritten_since",
    ] %}
        {{ column }}{{ "," if not loop.last }}
    {%- endfor %}
from departed
{% else %}

    select * from final
{%- endif %}
