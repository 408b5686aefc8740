{#- The environment's schema prefix (`MEDALLION_SCHEMA_PREFIX`, default empty). -#}
{% macro schema_prefix() -%}
    {{ return(env_var("MEDALLION_SCHEMA_PREFIX", "")) }}
{%- endmacro %}
