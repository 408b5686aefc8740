{#- One row per transaction (spec rules 1 and 2), each with its verdict.

    First one row per `transaction_id` (latest `updated_at`, live on a tie), then one
    row per business key `(order_number, order_line_number)` (latest `updated_at`, then
    live, then the lowest `transaction_id`); a row missing part of its business key is
    only deduplicated by id. Rows that break a rule are kept here with
    a `rejection_reason`; the fact takes the rest, the quarantine takes these. -#}
{{ config(
    post_hook=[
        '{{ medallion.table_index(["transaction_id"]) }}',
        '{{ medallion.table_index(["order_number", "order_line_number"]) }}',
    ]
) }}
with

transactions as (
    select * from {{ ref("int_transactions_unioned") }}
),

by_id as (
    select
        transactions.*,
        {{ dedup_row_number(
            ["transaction_id"],
            ["coalesce(updated_at, " ~ oldest_timestamp() ~ ") desc", source_priority()]
        ) }} as id_rank
    from transactions
),

by_business_key as (
    select
        by_id.*,
        {{ dedup_row_number(
            [
                "case when order_number is null or order_line_number is null"
                ~ " then transaction_id end",
                "order_number",
                "order_line_number",
            ],
            [
                "coalesce(updated_at, " ~ oldest_timestamp() ~ ") desc",
                source_priority(),
                "transaction_id",
            ]
        ) }} as business_key_rank
    from by_id
    where by_id.id_rank = 1
),

deduplicated as (
    select * from by_business_key
    where business_key_rank = 1
),

judged as (
    select
        transaction_id,
        order_number,
        customer_id,
        product_code,
        status,
        territory,
        source_system,
        load_id,
        case
            when quantity = 0 then 'zero quantity'
            when amount is null then 'null amount'
            when
                quantity is null or unit_price is null
                then 'null quantity or unit price'
            when abs(amount - quantity * unit_price) > {{ var("amount_tolerance") }}
                then 'amount differs from quantity * unit_price'
        end as rejection_reason,
        order_line_number,
        quantity,
        unit_price,
        amount,
        is_deleted,
        transaction_at,
        updated_at
    from deduplicated
)

select * from judged
