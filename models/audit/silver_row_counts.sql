{#- Gold rule 6, nothing disappears silently: for every silver table, the rows that
    came in, the rows that came out, the duplicates removed and the rows quarantined.
    Each count is measured on its own (duplicates as rows minus distinct keys, never
    as a remainder), so the test `rows_in = rows_out + duplicates_removed +
    rows_quarantined` can fail when a model loses or invents rows. Customer ids merged
    into a survivor count as duplicates; rows deleted at source stay in silver,
    flagged, and count as out. -#}
with

customers_unioned as (
    select * from {{ ref("int_customers_unioned") }}
),

customers_deduplicated as (
    select * from {{ ref("int_customers_deduplicated") }}
),

customers_merged as (
    select * from {{ ref("int_customers_merged") }}
),

customer_id_map as (
    select * from {{ ref("int_customer_id_map") }}
),

products_unioned as (
    select * from {{ ref("int_products_unioned") }}
),

products_deduplicated as (
    select * from {{ ref("int_products_deduplicated") }}
),

transactions_unioned as (
    select * from {{ ref("int_transactions_unioned") }}
),

transactions_ranked as (
    select * from {{ ref("int_transactions_ranked") }}
),

transactions_deduplicated as (
    select * from {{ ref("int_transactions_deduplicated") }}
),

customer_counts as (
    select
        'int_customers_merged' as silver_table,
        (select count(*) from customers_unioned) as rows_in,
        (select count(*) from customers_merged)
        + (
            select count(*) from customers_deduplicated
            where is_deleted
        ) as rows_out,
        (select count(*) from customers_unioned)
        - (select count(distinct customer_id) from customers_unioned)
        + (
            select count(*) from customer_id_map
            where customer_id <> survivor_customer_id
        ) as duplicates_removed,
        0 as rows_quarantined
),

product_counts as (
    select
        'int_products_deduplicated' as silver_table,
        (select count(*) from products_unioned) as rows_in,
        (select count(*) from products_deduplicated) as rows_out,
        (select count(*) from products_unioned)
        - (
            select count(distinct product_code) from products_unioned
        ) as duplicates_removed,
        0 as rows_quarantined
),

-- the business keys of each id's latest version (one id's versions may name different
-- keys, and only the latest one's competes under rule 2); a row missing part of its key
-- is a key of its own (counted below)
transaction_keys as (
    select
        order_number,
        order_line_number
    from transactions_ranked
    where order_number is not null and order_line_number is not null
    group by 1, 2
),

transaction_counts as (
    select
        'int_transactions_deduplicated' as silver_table,
        (select count(*) from transactions_unioned) as rows_in,
        (
            select count(*) from transactions_deduplicated
            where rejection_reason is null
        ) as rows_out,
        (select count(*) from transactions_unioned)
        - (select count(*) from transaction_keys)
        - (
            select count(*) from transactions_ranked
            where order_number is null or order_line_number is null
        ) as duplicates_removed,
        (
            select count(*) from transactions_deduplicated
            where rejection_reason is not null
        ) as rows_quarantined
),

{% for model, key in [
    ("int_fiscal_calendar_judged", "calendar_date"),
    ("int_survey_responses_judged", "response_id"),
    ("int_expenses_judged", "expense_id"),
] -%}
    {{ model }}_counts as (
        select
            '{{ model }}' as silver_table,
            count(*) as rows_in,
            sum(case when file_rank = 1 then 1 else 0 end) as rows_out,
            sum(case when rejection_reason is null then 1 else 0 end)
            - count(distinct case when rejection_reason is null then {{ key }} end)
                as duplicates_removed,
            sum(case when rejection_reason is not null then 1 else 0 end)
                as rows_quarantined
        from {{ ref(model) }}
    ),

{% endfor -%}
counts as (
    select * from customer_counts
    union all
    select * from product_counts
    union all
    select * from transaction_counts
    {%- for model in [
        "int_fiscal_calendar_judged", "int_survey_responses_judged", "int_expenses_judged"
    ] %}
        union all
        select * from {{ model }}_counts
    {%- endfor %}
),

final as (
    select
        silver_table,
        cast(rows_in as {{ medallion.bigint_type() }}) as rows_in,
        cast(rows_out as {{ medallion.bigint_type() }}) as rows_out,
        cast(duplicates_removed as {{ medallion.bigint_type() }}) as duplicates_removed,
        cast(rows_quarantined as {{ medallion.bigint_type() }}) as rows_quarantined
    from counts
)

select * from final
