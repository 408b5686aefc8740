{#- Every non-null value of each column lies within its range: the `accepted_range`
    test of many columns in one query. `ranges` maps a column to
    `{min_value: ..., max_value: ..., inclusive: true}` (either bound optional, not
    both; with `inclusive: false` the bounds themselves are refused). Fails on every
    (row, column) out of range, naming `failing_column` and `failing_value` (as text)
    before the row itself. -#}
{% test accepted_ranges(model, ranges) -%}
{%- if not ranges -%}
    {{ exceptions.raise_compiler_error("accepted_ranges: `ranges` is empty") }}
{%- endif -%}
with

tested as (
    select * from {{ model }}
)
{% for column, bounds in ranges.items() %}
{%- set min_value = bounds.get("min_value") -%}
{%- set max_value = bounds.get("max_value") -%}
{%- if min_value is none and max_value is none -%}
    {{ exceptions.raise_compiler_error(
        "accepted_ranges: no min_value or max_value for column " ~ column
    ) }}
{%- endif -%}
{%- set inclusive = bounds.get("inclusive", true) -%}
{%- set lower = ">=" if inclusive else ">" -%}
{%- set upper = "<=" if inclusive else "<" -%}
{%- set quoted_column = adapter.quote(column) -%}
{%- if not loop.first %}
union all
{% endif %}
select
    '{{ dbt.escape_single_quotes(column) }}' as failing_column,
    cast({{ quoted_column }} as {{ medallion.string_type() }}) as failing_value,
    tested.*
from tested
where
    {{ quoted_column }} is not null
    and not (
        1 = 1
        {%- if min_value is not none %}
        and {{ quoted_column }} {{ lower }} {{ min_value }}
        {%- endif %}
        {%- if max_value is not none %}
        and {{ quoted_column }} {{ upper }} {{ max_value }}
        {%- endif %}
    )
{%- endfor %}
{%- endtest %}
