{#- gold.md, quarantine: a transaction with a null customer_id or product_code, or one
    naming a customer or product that does not exist, is kept with customer_key or
    product_key -1 (the unknown member), and keeps the source's customer_id and
    product_code (after the survivor mapping). Conversely a known customer or product
    never gets -1, and a real key points at a version of the line's own customer or
    product. Returns each line that breaks one of these. An incremental build checks
    the lines it wrote. -#}
with

transactions as (
    select * from {{ ref("fct_transactions") }}
    where {{ medallion.written_by_this_build("rewritten_since") }}
),

customers as (
    select * from {{ ref("dim_customer") }}
),

products as (
    select * from {{ ref("dim_product") }}
),

customer_failures as (
    select
        transactions.transaction_id,
        'customer' as dimension,
        case
            when
                transactions.customer_key = -1
                and transactions.customer_id is not null
                and exists (
                    select 1 from customers as known
                    where
                        known.customer_id = transactions.customer_id
                        and known.customer_key <> -1
                )
                then 'unknown member for an existing customer'
            when
                transactions.customer_key <> -1
                and transactions.customer_id is null
                then 'a real key for a line without a customer'
            when
                transactions.customer_key <> -1
                and (
                    customers.customer_id is null
                    or customers.customer_id <> transactions.customer_id
                )
                then 'key of another customer'
        end as failure
    from transactions
    left join customers
        on transactions.customer_key = customers.customer_key
),

product_failures as (
    select
        transactions.transaction_id,
        'product' as dimension,
        case
            when
                transactions.product_key = -1
                and transactions.product_code is not null
                and exists (
                    select 1 from products as known
                    where
                        known.product_code = transactions.product_code
                        and known.product_key <> -1
                )
                then 'unknown member for an existing product'
            when
                transactions.product_key <> -1
                and transactions.product_code is null
                then 'a real key for a line without a product'
            when
                transactions.product_key <> -1
                and (
                    products.product_code is null
                    or products.product_code <> transactions.product_code
                )
                then 'key of another product'
        end as failure
    from transactions
    left join products
        on transactions.product_key = products.product_key
)

select * from customer_failures
where failure is not null
union all
select * from product_failures
where failure is not null
