{#- Every one of `columns` is non-null on every row: the `not_null` test of many
    columns in one query. Fails on every (row, column) with a null, each failing row
    naming the column (`failing_column`) before the row itself. -#}
{% test not_null_columns(model, columns) -%}
{%- if not columns -%}
    {{ exceptions.raise_compiler_error("not_null_columns: `columns` is empty") }}
{%- endif -%}
with

tested as (
    select * from {{ model }}
)
{% for column in columns %}
{%- if not loop.first %}
union all
{% endif %}
select
    '{{ dbt.escape_single_quotes(column) }}' as failing_column,
    tested.*
from tested
where {{ adapter.quote(column) }} is null
{%- endfor %}
{%- endtest %}
