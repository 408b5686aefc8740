{#- The beginning of time for ordering and validity windows: a zero or missing
    `updated_at` sorts as this, so it always loses to a real one. -#}
{% macro oldest_timestamp() -%}
    {{ return(adapter.dispatch("oldest_timestamp", "medallion")()) }}
{%- endmacro %}

{% macro default__oldest_timestamp() -%}
    cast('1900-01-01 00:00:00' as {{ medallion.timestamp_type() }})
{%- endmacro %}

{#- The end of time: `valid_to` of a current SCD2 version. -#}
{% macro newest_timestamp() -%}
    {{ return(adapter.dispatch("newest_timestamp", "medallion")()) }}
{%- endmacro %}

{% macro default__newest_timestamp() -%}
    cast('9999-12-31 00:00:00' as {{ medallion.timestamp_type() }})
{%- endmacro %}
