{#- The masked form of a personal value, as the marts show it: the lower-case hex
    SHA-256 of the value's UTF-8 bytes, unsalted, so the same value gives the same
    64 characters on every warehouse and in every build (null stays null). The value
    is hashed as the silver layer standardised it (emails lower-cased and trimmed,
    phones as digits, names trimmed): no second normalisation that could differ
    between warehouses. -#}
{% macro mask_pii(expression) -%}
    {{ return(adapter.dispatch("mask_pii", "medallion")(expression)) }}
{%- endmacro %}

{% macro default__mask_pii(expression) -%}
    lower(sha2(cast({{ expression }} as {{ dbt.type_string() }}), 256))
{%- endmacro %}

{% macro duckdb__mask_pii(expression) -%}
    sha256(cast({{ expression }} as varchar))
{%- endmacro %}

{% macro mysql__mask_pii(expression) -%}
    cast(sha2(convert({{ expression }} using utf8mb4), 256) as char(64))
{%- endmacro %}
