{#- The columns of the warehouse's tables with their numeric precision and scale, as
    `information_schema.columns` has them (table_schema, table_name, column_name,
    numeric_precision, numeric_scale): for tests of the types the tables really
    have. `relations` are the tables of interest; where there is an
    information_schema it holds them all already. -#}
{% macro column_types(relations) -%}
    {{ return(adapter.dispatch("column_types", "medallion")(relations)) }}
{%- endmacro %}

{% macro default__column_types(relations) -%}
    select table_schema, table_name, column_name, numeric_precision, numeric_scale
    from information_schema.columns
{%- endmacro %}

{% macro spark__column_types(relations) -%}
    {#- Spark has no information_schema: each table's columns as Spark describes them
        (`decimal(18,2)`), one literal row each. -#}
    select
        cast(null as string) as table_schema,
        cast(null as string) as table_name,
        cast(null as string) as column_name,
        cast(null as int) as numeric_precision,
        cast(null as int) as numeric_scale
    where 1 = 0
    {%- if execute %}
        {%- for relation in relations %}
            {%- for column in adapter.get_columns_in_relation(relation) %}
                {%- set decimal = modules.re.match(
                    "^decimal\\((\\d+),\\s*(\\d+)\\)$", column.data_type | lower
                ) %}
    union all
    select
        '{{ relation.schema }}', '{{ relation.identifier }}', '{{ column.name }}',
        {{ decimal.group(1) if decimal else "null" }},
        {{ decimal.group(2) if decimal else "null" }}
            {%- endfor %}
        {%- endfor %}
    {%- endif %}
{%- endmacro %}
