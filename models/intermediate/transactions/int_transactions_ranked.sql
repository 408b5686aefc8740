{#- One row per transaction_id (gold rule 1), each with its verdict and its rank among
    the transactions of its business key (gold rule 2): `int_transactions_deduplicated`
    is the rows ranked first.

    First one row per `transaction_id` (latest `updated_at`, live on a tie); then those
    are ranked per business key `(order_number, order_line_number)` (latest
    `updated_at`, then live, then the lowest `transaction_id`); a row missing part of
    its business key is only deduplicated by id. Rows that break a rule keep a
    `rejection_reason` (the first that applies, in the order below): gold.md's
    three, then a status staging could not match (empty, or unknown), and a
    transaction date that is null (a zero date arrives as null) or after var
    `max_valid_date` (a sentinel such as 9999-12-31).

    Incremental (`changed_since()`): the ids that a load after the last build changed
    get their row again, and every row of a business key such an id had or has now is
    ranked again; a rank depends on nothing else, so the rest stays. Each row written
    carries the watermark it was written under (`rewritten_since`), so that the fact
    can take up what changed here, even after a build that was killed in between. -#}
{{ config(
    materialized="incremental",
    incremental_strategy="delete+insert",
    unique_key="transaction_id",
    full_refresh=env_var("MEDALLION_CHANGED_SINCE", "") == "",
    post_hook=[
        '{{ medallion.table_index(["transaction_id"]) }}',
        '{{ medallion.table_index(["order_number", "order_line_number"]) }}',
        '{{ medallion.table_index(["rewritten_since"]) }}',
    ]
) }}
{%- set since = medallion.changed_since() %}
{%- set columns = [
    "transaction_id", "order_number", "customer_id", "product_code", "status",
    "territory", "source_system", "load_id", "order_line_number", "quantity",
    "unit_price", "amount", "is_deleted", "transaction_at", "updated_at",
] %}
with

{% if is_incremental() -%}
changed_ids as (
    select distinct transaction_id from {{ ref("int_transactions_unioned") }}
    where change_load_id > '{{ since }}'
),

transactions as (
    select * from {{ ref("int_transactions_unioned") }}
    where transaction_id in (select transaction_id from changed_ids)
),

{% else %}

    transactions as (
        select * from {{ ref("int_transactions_unioned") }}
    ),
{%- endif %}

by_id as (
    select
        {{ columns | join(", ") }},
        {{ dedup_row_number(
            ["transaction_id"],
            ["coalesce(updated_at, " ~ oldest_timestamp() ~ ") desc", source_priority()]
        ) }} as id_rank
    from transactions
),

{% if is_incremental() -%}
changed_survivors as (
    select {{ columns | join(", ") }} from by_id
    where id_rank = 1
),

-- the business keys the changed ids have now, and had at the last build
touched_keys as (
    select order_number, order_line_number from changed_survivors
    where order_number is not null and order_line_number is not null
    union
    select order_number, order_line_number from {{ this }}
    where
        transaction_id in (select transaction_id from changed_ids)
        and order_number is not null
        and order_line_number is not null
),

-- every survivor of those keys: the changed ones, and the others as they were
survivors as (
    select * from changed_survivors
    union all
    select {% for column in columns %}kept.{{ column }}{{ ", " if not loop.last }}{% endfor %}
    from {{ this }} as kept
    inner join touched_keys
        on
            kept.order_number = touched_keys.order_number
            and kept.order_line_number = touched_keys.order_line_number
    where kept.transaction_id not in (select transaction_id from changed_ids)
),

{% else %}

    survivors as (
        select {{ columns | join(", ") }} from by_id
        where id_rank = 1
    ),
{%- endif %}

by_business_key as (
    select
        survivors.*,
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
    from survivors
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
            when status is null then 'empty status'
            when
                status not in (
                    {%- for value in var("transaction_statuses") %}
                        '{{ value }}'{{ "," if not loop.last }}
                    {%- endfor %}
                )
                then 'unknown status'
            when transaction_at is null then 'null or zero transaction date'
            when
                cast(transaction_at as date)
                > cast('{{ var("max_valid_date") }}' as date)
                then 'transaction date after max_valid_date'
        end as rejection_reason,
        order_line_number,
        quantity,
        unit_price,
        amount,
        is_deleted,
        transaction_at,
        updated_at,
        business_key_rank,
        cast('{{ since }}' as char(32)) as rewritten_since
    from by_business_key
)

select * from judged
