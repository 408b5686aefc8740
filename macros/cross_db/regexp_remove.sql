{#- Remove every match of `pattern` from `expression`. -#}
{% macro regexp_remove(expression, pattern) -%}
    {{ return(adapter.dispatch("regexp_remove", "medallion")(expression, pattern)) }}
{%- endmacro %}

{% macro default__regexp_remove(expression, pattern) -%}
    regexp_replace({{ expression }}, '{{ pattern }}', '')
{%- endmacro %}

{% macro duckdb__regexp_remove(expression, pattern) -%}
    regexp_replace({{ expression }}, '{{ pattern }}', '', 'g')
{%- endmacro %}
