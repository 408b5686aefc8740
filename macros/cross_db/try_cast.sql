{#- Cast, or null when the value does not convert (never an error, never a silent 0). -#}
{% macro try_cast(expression, type) -%}
    {{ return(adapter.dispatch("try_cast", "medallion")(expression, type)) }}
{%- endmacro %}

{% macro default__try_cast(expression, type) -%}
    try_cast({{ expression }} as {{ type }})
{%- endmacro %}

{% macro mysql__try_cast(expression, type) -%}
    {#- MySQL has no try_cast: it casts junk to 0 with a warning, and in a
        `create table ... as select` (every table model) strict mode turns that warning,
        or an out-of-range value, into an error. So only text shaped like a number is
        cast, through an exact decimal, and only when it fits: integers are rounded
        half away from zero and decimals to their scale, as DuckDB's try_cast does;
        ` 7`, `1e3`, `.5` and `3.` are read as there, and an integer beyond 32 bits is
        null. `type` is an integer type (`signed`) or `decimal(p, s)`. -#}
    {%- set expression = "trim(" ~ expression ~ ")" -%}
    {%- set number = (
        "^[+-]?([0-9]{1,30}([.][0-9]{0,30})?|[.][0-9]{1,30})([eE][+-]?[0-9])?$"
    ) -%}
    {%- set exact = "cast(" ~ expression ~ " as decimal(65, 30))" -%}
    {%- set decimal = modules.re.match(
        "^decimal\\s*\\(\\s*(\\d+)\\s*,\\s*(\\d+)\\s*\\)$", type | lower | trim
    ) -%}
    case
        when {{ medallion.regexp_matches(expression, number) }}
            then case
            {%- if decimal %}
                when abs(round({{ exact }}, {{ decimal.group(2) }}))
                    < 1{{ "0" * (decimal.group(1) | int - decimal.group(2) | int) }}
                    then cast({{ exact }} as {{ type }})
            {%- else %}
                when abs(round({{ exact }})) <= 2147483647
                    then cast(round({{ exact }}) as {{ type }})
            {%- endif %}
            end
    end
{%- endmacro %}
