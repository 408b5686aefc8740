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
    cast({{ expression }} as datetime)
{%- endmacro %}
