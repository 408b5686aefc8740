{#- Every non-null value of each column is one of its accepted values: the
    `accepted_values` test of many columns in one query. `values_by_column` maps a
    column to its list of values, or to `{values: [...], quote: false}` for values
    compared unquoted (numbers, booleans). Fails on every (column, value) refused,
    with `failing_column`, `failing_value` (as text) and the rows holding it.
    `row_level=true`: a value the pipeline routes or flags (the policy,
    `row_share_config`): a warning counting the rows refused, an error only when
    they are more than `max_bad_row_share` of the model's rows (of `rows_of`, the
    whole model, when a `where` config makes `model` the rows a build wrote). -#}
{% test accepted_values_columns(
    model, values_by_column, quote=true, row_level=false, rows_of=none
) -%}
{%- if row_level %}{{ medallion.row_share_config("n_records") }}{% endif -%}
{%- if not values_by_column -%}
    {{ exceptions.raise_compiler_error(
        "accepted_values_columns: `values_by_column` is empty"
    ) }}
{%- endif -%}
with

tested as (
    select * from {{ model }}
)
{% for column, accepted in values_by_column.items() %}
{%- set values = accepted["values"] if accepted is mapping else accepted -%}
{%- set quoted = accepted.get("quote", quote) if accepted is mapping else quote -%}
{%- if not values -%}
    {{ exceptions.raise_compiler_error(
        "accepted_values_columns: no values for column " ~ column
    ) }}
{%- endif -%}
{%- set quoted_column = adapter.quote(column) -%}
{%- if not loop.first %}
union all
{% endif %}
select
    '{{ dbt.escape_single_quotes(column) }}' as failing_column,
    cast({{ quoted_column }} as {{ medallion.string_type() }}) as failing_value,
    count(*) as n_records
    {%- if row_level %},
    (select count(*) from {{ rows_of if rows_of is not none else "tested" }})
        as table_rows
    {%- endif %}
from tested
where
    {{ quoted_column }} is not null
    and {{ quoted_column }} not in (
        {%- for value in values -%}
        {%- if quoted -%}
        '{{ dbt.escape_single_quotes(value | string) }}'
        {%- else -%}
        {{ value }}
        {%- endif -%}
        {{- ", " if not loop.last }}
        {%- endfor -%}
    )
group by {{ quoted_column }}
{%- endfor %}
{%- endtest %}
