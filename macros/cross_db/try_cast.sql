{#- Cast, or null when the value does not convert (never an error, never a silent 0). -#}
{% macro try_cast(expression, type) -%}
    {{ return(adapter.dispatch("try_cast", "medallion")(expression, type)) }}
{%- endmacro %}

{% macro default__try_cast(expression, type) -%}
    try_cast({{ expression }} as {{ type }})
{%- endmacro %}

{% macro mysql__try_cast(expression, type) -%}
    {#- MySQL casts junk to 0 with a warning; only cast what looks like a number. -#}
    case
        when {{ medallion.regexp_matches(expression, "^[+-]?[0-9]+([.][0-9]+)?$") }}
            then cast({{ expression }} as {{ type }})
    end
{%- endmacro %}
