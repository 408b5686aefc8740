{#- Select a landing-file table with a fixed list of text columns.

    Landing files arrive over time and may miss a column, or not have arrived at all;
    a column absent from the raw table is selected as null, and a table dlt has not
    created yet (no file of that kind landed) gives an empty result of the same shape,
    so staging never breaks on what the files did not bring. -#}
{% macro landing_source(table_name, columns) -%}
    {%- set relation = source("files", table_name) -%}
    {%- set existing = medallion.relation_columns(relation) -%}
    {%- set metadata = ["_file_name", "_row_number", "_file_modified_at", "_parse_error",
                        "_raw_record", "_dlt_load_id"] -%}
    {%- if existing is none %}
    select
        {%- for column in columns + metadata %}
        cast(null as {{ medallion.bigint_type() if column == "_row_number"
            else (medallion.timestamp_type() if column == "_file_modified_at"
            else medallion.string_type()) }}) as {{ column }}{{ "," if not loop.last }}
        {%- endfor %}
    where 1 = 0
    {%- else %}
    select
        {%- for column in columns + metadata %}
        {% if column in existing -%}
            {{ adapter.quote(column) }}
        {%- else -%}
            cast(null as {{ medallion.string_type() }})
        {%- endif %} as {{ column }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ relation }}
    {%- endif %}
{%- endmacro %}
