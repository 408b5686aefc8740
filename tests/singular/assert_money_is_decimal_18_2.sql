{#- gold.md: money is decimal(18, 2) in every gold table, on every warehouse. Read
    from the warehouse's information_schema (DuckDB and MySQL; on Spark, which has
    none, from what Spark describes: `column_types`), so it checks the type the
    tables really have. Returns each money column that is missing
    or has another precision or scale. -#}
{%- set money_columns = {
    "fct_transactions": ["unit_price", "total_amount", "restocking_fee", "net_amount"],
    "fct_refunds": ["refund_amount", "restocking_fee", "refund_net"],
    "dim_product": ["msrp"],
    "customer_segments": ["total_spent", "avg_order_value"],
    "top_customers": ["total_spent"],
    "product_performance": [
        "total_revenue", "avg_price", "best_revenue", "revenue_diff_from_best"
    ],
    "monthly_summary": [
        "total_sales", "total_refunds", "net_revenue", "total_restocking_fees"
    ],
    "regional_summary": ["total_sales", "total_refunds", "net_revenue"],
    "expense_monthly": ["total_amount"],
} -%}
{%- set money_relations = [] -%}
{%- for table_name in money_columns -%}
    {%- do money_relations.append(ref(table_name)) -%}
{%- endfor -%}
with

expected as (
    {%- for table_name, columns in money_columns.items() %}
        {%- set outer_loop = loop %}
        {%- for column_name in columns %}
            select
                '{{ ref(table_name).schema }}' as table_schema,
                '{{ ref(table_name).identifier }}' as table_name,
                '{{ column_name }}' as column_name
            {%- if not (outer_loop.last and loop.last) %}
                union all
            {%- endif %}
        {%- endfor %}
    {%- endfor %}
),

actual as (
    select
        lower(table_schema) as table_schema,
        lower(table_name) as table_name,
        lower(column_name) as column_name,
        numeric_precision,
        numeric_scale
    from (
        {{ medallion.column_types(money_relations) }}
    ) as warehouse_columns
)

select
    expected.table_schema,
    expected.table_name,
    expected.column_name,
    actual.numeric_precision,
    actual.numeric_scale
from expected
left join actual
    on
        expected.table_schema = actual.table_schema
        and expected.table_name = actual.table_name
        and expected.column_name = actual.column_name
where
    actual.column_name is null
    or actual.numeric_precision is null
    or actual.numeric_precision <> 18
    or actual.numeric_scale <> 2
