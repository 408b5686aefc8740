{#- Gold rule 3: customers whose normalised valid email is the same are one customer.
    The survivor is the most recently updated record (ties: live, then the lowest id).
    Every customer_id maps to its survivor; a customer without a valid email, or
    deleted at source, is its own survivor. -#}
with

customers as (
    select * from {{ ref("int_customers_deduplicated") }}
),

mergeable as (
    select * from customers
    where email is not null and not is_deleted
),

ranked as (
    select
        email,
        customer_id,
        {{ dedup_row_number(
            ["email"],
            [
                "coalesce(updated_at, " ~ oldest_timestamp() ~ ") desc",
                source_priority(),
                "customer_id",
            ]
        ) }} as survivor_rank
    from mergeable
),

survivors as (
    select
        email,
        customer_id as survivor_customer_id
    from ranked
    where survivor_rank = 1
),

mapped as (
    select
        customers.customer_id,
        coalesce(
            survivors.survivor_customer_id, customers.customer_id
        ) as survivor_customer_id,
        customers.email
    from customers
    left join survivors
        on
            customers.email = survivors.email
            and not customers.is_deleted
)

select * from mapped
