{#- History (SCD type 2): a line points at the customer and product version valid at
    its transaction time (valid_from <= transaction_at < valid_to); when the
    transaction predates every version it points at the first one, and when it
    follows the last (closed) version, at that one. Returns each line pointing at
    another version. An incremental build checks
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
        transactions.transaction_at,
        chosen.valid_from,
        chosen.valid_to,
        (
            select min(other.valid_from) from customers as other
            where other.customer_id = chosen.customer_id
        ) as first_valid_from,
        (
            select max(other.valid_to) from customers as other
            where other.customer_id = chosen.customer_id
        ) as last_valid_to
    from transactions
    inner join customers as chosen
        on transactions.customer_key = chosen.customer_key
),

product_lines as (
    select
        transactions.transaction_id,
        'product' as dimension,
        transactions.transaction_at,
        chosen.valid_from,
        chosen.valid_to,
        (
            select min(other.valid_from) from products as other
            where other.product_code = chosen.product_code
        ) as first_valid_from,
        (
            select max(other.valid_to) from products as other
            where other.product_code = chosen.product_code
        ) as last_valid_to
    from transactions
    inner join products as chosen
        on transactions.product_key = chosen.product_key
),

pointed_lines as (
    select * from customer_lines
    union all
    select * from product_lines
)

select * from pointed_lines
where not (
    (transaction_at >= valid_from and transaction_at < valid_to)
    or (transaction_at < first_valid_from and valid_from = first_valid_from)
    or (transaction_at >= last_valid_to and valid_to = last_valid_to)
)
