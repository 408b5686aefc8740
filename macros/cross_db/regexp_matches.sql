{#- True when `expression` matches the regular expression `pattern`. -#}
{% macro regexp_matches(expression, pattern) -%}
    {{ return(adapter.dispatch("regexp_matches", "medallion")(expression, pattern)) }}
{%- endmacro %}

{% macro default__regexp_matches(expression, pattern) -%}
    regexp_like({{ expression }}, '{{ pattern }}')
{%- endmacro %}

{% macro duckdb__regexp_matches(expression, pattern) -%}
    regexp_matches({{ expression }}, '{{ pattern }}')
{%- endmacro %}

{% macro mysql__regexp_matches(expression, pattern) -%}
    ({{ expression }} regexp '{{ pattern }}')
{%- endmacro %}
