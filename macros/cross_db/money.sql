{#- Money in every gold table, on every warehouse: decimal(18, 2). -#}
{% macro money(expression) -%}
    cast({{ expression }} as decimal(18, 2))
{%- endmacro %}
