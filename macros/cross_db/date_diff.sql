{#- The number of `datepart` boundaries from `first_date` to `second_date`. dbt's own
    `datediff` has no MySQL version, and MySQL's `datediff` takes no datepart. -#}
{% macro date_diff(first_date, second_date, datepart) -%}
    {{ return(adapter.dispatch("date_diff", "medallion")(first_date, second_date, datepart)) }}
{%- endmacro %}

{% macro default__date_diff(first_date, second_date, datepart) -%}
    {{ return(dbt.datediff(first_date, second_date, datepart)) }}
{%- endmacro %}

{% macro mysql__date_diff(first_date, second_date, datepart) -%}
    timestampdiff({{ datepart }}, {{ first_date }}, {{ second_date }})
{%- endmacro %}
