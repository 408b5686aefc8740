{#- Text to a timestamp: ISO dates and date-times ('2024-03-01', '2024-03-01 10:00:00',
    '2024-03-01T10:00:00Z'); anything else, or a zero date, is null. -#}
{% macro parse_timestamp(expression) -%}
    {{ return(adapter.dispatch("parse_timestamp", "medallion")(expression)) }}
{%- endmacro %}

{% macro default__parse_timestamp(expression) -%}
    case
        when {{ medallion.regexp_matches(
            expression, "^[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?)?Z?$"
        ) }}
        and substr({{ expression }}, 1, 4) <> '0000'
            then {{ medallion.try_timestamp(
                "replace(replace(" ~ expression ~ ", 'T', ' '), 'Z', '')"
            ) }}
    end
{%- endmacro %}

{% macro try_timestamp(expression) -%}
    {{ return(adapter.dispatch("try_timestamp", "medallion")(expression)) }}
{%- endmacro %}

{% macro default__try_timestamp(expression) -%}
    try_cast({{ expression }} as timestamp)
{%- endmacro %}

{% macro mysql__try_timestamp(expression) -%}
    {#- MySQL has no try_cast, and in a `create table ... as select` strict mode turns
        the warning of an impossible date-time ('2023-02-29', '10:61') into an error.
        So the parts are checked first, as DuckDB's try_cast does: null when one is out
        of range, '24:00:00' as the next midnight, at most microseconds kept. -#}
    {%- set value = "(" ~ expression ~ ")" -%}
    {%- set part = "cast(substr(" ~ value ~ ", {}, {}) as signed)" -%}
    {%- set year, month, day = part.format(1, 4), part.format(6, 2), part.format(9, 2) -%}
    {%- set hour, minute = part.format(12, 2), part.format(15, 2) -%}
    {%- set second = part.format(18, 2) -%}
    {%- set leap_day = (
        "case when mod(" ~ year ~ ", 4) = 0 and (mod(" ~ year ~ ", 100) <> 0"
        ~ " or mod(" ~ year ~ ", 400) = 0) then 1 else 0 end"
    ) -%}
    {%- set days_in_month = (
        "case when " ~ month ~ " = 2 then 28 + " ~ leap_day
        ~ " when " ~ month ~ " in (4, 6, 9, 11) then 30 else 31 end"
    ) -%}
    case
        when {{ medallion.regexp_matches(
            value, "^[0-9]{4}-[0-9]{2}-[0-9]{2}( [0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?)?$"
        ) }}
            then case
                when
                    {{ year }} < 1
                    or {{ month }} not between 1 and 12
                    or {{ day }} not between 1 and {{ days_in_month }}
                    then null
                when length({{ value }}) = 10
                    then cast({{ value }} as {{ medallion.timestamp_type() }})
                when
                    {{ hour }} = 24 and {{ minute }} = 0
                    and (length({{ value }}) = 16 or {{ second }} = 0)
                    and not {{ medallion.regexp_matches(value, "[.][0-9]*[1-9]") }}
                    then date_add(
                        cast(left({{ value }}, 10) as {{ medallion.timestamp_type() }}),
                        interval 1 day
                    )
                when
                    {{ hour }} < 24 and {{ minute }} < 60
                    and (length({{ value }}) = 16 or {{ second }} < 60)
                    then cast(left({{ value }}, 26) as {{ medallion.timestamp_type() }})
            end
    end
{%- endmacro %}
