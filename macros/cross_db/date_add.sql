{#- `from_date_or_timestamp` plus `interval` (an integer expression) `datepart`s. dbt's
    own `dateadd` has no MySQL version (it writes SQL Server's `dateadd(...)`). -#}
{% macro date_add(datepart, interval, from_date_or_timestamp) -%}
    {{ return(adapter.dispatch("date_add", "medallion")(
        datepart, interval, from_date_or_timestamp
    )) }}
{%- endmacro %}

{% macro default__date_add(datepart, interval, from_date_or_timestamp) -%}
    {{ return(dbt.dateadd(datepart, interval, from_date_or_timestamp)) }}
{%- endmacro %}

{% macro mysql__date_add(datepart, interval, from_date_or_timestamp) -%}
    date_add({{ from_date_or_timestamp }}, interval ({{ interval }}) {{ datepart }})
{%- endmacro %}
