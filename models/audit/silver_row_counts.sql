{#- Spec rule 6, nothing disappears silently: for every silver table, the rows that
    came in, the rows that came out, the duplicates removed and the rows quarantined.
    `rows_in = rows_out + duplicates_removed + rows_quarantined` is tested every build. -#}
with

customers_in as (
    select count(*) as row_count from {{ ref("int_customers_unioned") }}
),

customers_out as (
    select count(*) as row_count from {{ ref("int_customers_merged") }}
),

customers_deleted as (
    select count(*) as row_count from {{ ref("int_customers_deduplicated") }}
    where is_deleted
),

products_in as (
    select count(*) as row_count from {{ ref("int_products_unioned") }}
),

products_out as (
    select count(*) as row_count from {{ ref("int_products_deduplicated") }}
),

transactions_in as (
    select count(*) as row_count from {{ ref("int_transactions_unioned") }}
),

transactions_verdicts as (
    select
        count(*) as deduplicated_count,
        sum(case when rejection_reason is not null then 1 else 0 end) as quarantined_count
    from {{ ref("int_transactions_deduplicated") }}
),

{% for entity, model in [
    ("fiscal_calendar", "int_fiscal_calendar_judged"),
    ("survey_responses", "int_survey_responses_judged"),
    ("expenses", "int_expenses_judged"),
] -%}
{{ entity }}_counts as (
    select
        '{{ model }}' as silver_table,
        count(*) as rows_in,
        sum(case when file_rank = 1 then 1 else 0 end) as rows_out,
        sum(case when file_rank > 1 then 1 else 0 end) as duplicates_removed,
        sum(case when rejection_reason is not null then 1 else 0 end) as rows_quarantined
    from {{ ref(model) }}
),

{% endfor -%}
counts as (
    select
        'int_customers_merged' as silver_table,
        customers_in.row_count as rows_in,
        customers_out.row_count + customers_deleted.row_count as rows_out,
        customers_in.row_count - customers_out.row_count - customers_deleted.row_count
            as duplicates_removed,
        0 as rows_quarantined
    from customers_in
    cross join customers_out
    cross join customers_deleted
    union all
    select
        'int_products_deduplicated',
        products_in.row_count,
        products_out.row_count,
        products_in.row_count - products_out.row_count,
        0
    from products_in
    cross join products_out
    union all
    select
        'int_transactions_deduplicated',
        transactions_in.row_count,
        transactions_verdicts.deduplicated_count - transactions_verdicts.quarantined_count,
        transactions_in.row_count - transactions_verdicts.deduplicated_count,
        transactions_verdicts.quarantined_count
    from transactions_in
    cross join transactions_verdicts
    {%- for entity in ["fiscal_calendar", "survey_responses", "expenses"] %}
    union all
    select * from {{ entity }}_counts
    {%- endfor %}
)

select * from counts
