{#- The lower-case column names of a relation, or none when it does not exist (yet).
    Lets staging read tables that the loader creates only once data arrives. -#}
{% macro relation_columns(relation) -%}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set found = adapter.get_relation(
        database=relation.database, schema=relation.schema, identifier=relation.identifier
    ) -%}
    {%- if found is none -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(adapter.get_columns_in_relation(found) | map(attribute="name") | map("lower") | list) }}
{%- endmacro %}
