{#- Types to write in `cast(x as ...)`, on every warehouse. dbt's `type_*` macros give
    column types, and on MySQL several of those are refused by CAST, which accepts only
    CHAR, SIGNED, DATETIME, DATE, DECIMAL, DOUBLE...: `TEXT`, `bigint`, `boolean` and
    `timestamp` are syntax errors there. Elsewhere these are dbt's own. (Named so that
    they never shadow dbt's `default__type_*` macros, which dbt looks up in the root
    project first.) -#}
{% macro string_type() -%}
    {{ return(adapter.dispatch("string_type", "medallion")()) }}
{%- endmacro %}

{% macro default__string_type() -%}
    {{ return(dbt.type_string()) }}
{%- endmacro %}

{% macro mysql__string_type() -%}
    {{ return("char") }}
{%- endmacro %}

{% macro bigint_type() -%}
    {{ return(adapter.dispatch("bigint_type", "medallion")()) }}
{%- endmacro %}

{% macro default__bigint_type() -%}
    {{ return(dbt.type_bigint()) }}
{%- endmacro %}

{% macro mysql__bigint_type() -%}
    {{ return("signed") }}
{%- endmacro %}

{% macro int_type() -%}
    {{ return(adapter.dispatch("int_type", "medallion")()) }}
{%- endmacro %}

{% macro default__int_type() -%}
    {{ return(dbt.type_int()) }}
{%- endmacro %}

{% macro mysql__int_type() -%}
    {{ return("signed") }}
{%- endmacro %}

{#- A timestamp without time zone (UTC by convention); on MySQL with microseconds,
    as DuckDB keeps them (a bare `datetime` would drop them). -#}
{% macro timestamp_type() -%}
    {{ return(adapter.dispatch("timestamp_type", "medallion")()) }}
{%- endmacro %}

{% macro default__timestamp_type() -%}
    {{ return(dbt.type_timestamp()) }}
{%- endmacro %}

{% macro mysql__timestamp_type() -%}
    {{ return("datetime(6)") }}
{%- endmacro %}

{#- MySQL has no boolean type to cast to: its booleans are the integers 0 and 1. -#}
{% macro boolean_type() -%}
    {{ return(adapter.dispatch("boolean_type", "medallion")()) }}
{%- endmacro %}

{% macro default__boolean_type() -%}
    {{ return(dbt.type_boolean()) }}
{%- endmacro %}

{% macro mysql__boolean_type() -%}
    {{ return("signed") }}
{%- endmacro %}
