{#- History: "every historical transaction finds a version." Stated strictly: no
    line of fct_transactions predates the validity of the customer (or product)
    version it points at, so an as-of join (valid_from <= transaction_at <
    valid_to) finds it too, including a line dated before its customer's
    created_at, or inherited from an id merged into the survivor (gold rule 3).
    Returns each line that no version covers. An incremental build checks
    the lines it wrote. -#}

with

transactions as (
    select * from {{ ref("fct_transactions") }}
    where {{ medallion.written_by_this_build("rewritten_since") }}
),

customers as (
    select * from {{ ref("dim_customer") }}
    where customer_key <> -1
),

products as (
    select * from {{ ref("dim_product") }}
    where product_key <> -1
),

customer_lines as (
    select
        transactions.transaction_id,
        'customer' as dimension,
        cast(transactions.customer_id as {{ medallion.string_type() }})
            as dimension_key,
        transactions.transaction_at,
        customers.valid_from
    from transactions
    inner join customers
        on transactions.customer_key = customers.customer_key
    where transactions.transaction_at < customers.valid_from
),

product_lines as (
    select
        transactions.transaction_id,
        'product' as dimension,
        transactions.product_code as dimension_key,
        transactions.transaction_at,
        products.valid_from
    from transactions
    inner join products
        on transactions.product_key = products.product_key
    where transactions.transaction_at < products.valid_from
)

select * from customer_lines
union all
select * from product_lines
