{#- The strings of `fields` (SQL expressions) joined; null when any is null. dbt's own
    `concat` writes `a || b` on MySQL too, where `||` is a logical OR. -#}
{% macro string_concat(fields) -%}
    {{ return(adapter.dispatch("string_concat", "medallion")(fields)) }}
{%- endmacro %}

{% macro default__string_concat(fields) -%}
    {{ return(dbt.concat(fields)) }}
{%- endmacro %}

{% macro mysql__string_concat(fields) -%}
    concat({{ fields | join(", ") }})
{%- endmacro %}
