{#- Custom schema names are used as they are (`marts`, not `main_marts`), after the
    environment's `MEDALLION_SCHEMA_PREFIX` (default empty), so that several
    environments can share one server. The target schema is prefixed in profiles.yml. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ medallion.schema_prefix() }}{{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
