{#- Order key for "on a tie the live row wins": live sorts before archive. -#}
{% macro source_priority(column="source_system") -%}
    case when {{ column }} = 'live' then 0 else 1 end
{%- endmacro %}
