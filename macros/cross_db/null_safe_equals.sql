{#- `left` and `right` are equal, or both null: a join condition that matches null key
    parts as `group by` groups them. -#}
{% macro null_safe_equals(left, right) -%}
    {{ return(adapter.dispatch("null_safe_equals", "medallion")(left, right)) }}
{%- endmacro %}

{% macro default__null_safe_equals(left, right) -%}
    {{ left }} is not distinct from {{ right }}
{%- endmacro %}

{% macro mysql__null_safe_equals(left, right) -%}
    {#- MySQL and MariaDB spell it `<=>` (and can use an index for it). -#}
    {{ left }} <=> {{ right }}
{%- endmacro %}
