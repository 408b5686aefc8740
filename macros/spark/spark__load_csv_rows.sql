{#- Seeds on Spark: the rows written as literals. dbt-spark's own binds each value
    into the statement as text, which in session mode turns an empty cell into the
    string 'None' and fails on a value holding an apostrophe ("Côte d'Ivoire"). An
    empty cell is null here, as on the other targets; quotes and backslashes are
    escaped as Spark SQL's string literals need. Overrides dbt-spark's macro for the
    project (dispatch looks in the root project first). -#}
{% macro spark__load_csv_rows(model, agate_table) -%}
    {%- set column_override = model["config"].get("column_types", {}) -%}
    {%- set types = [] -%}
    {%- for column_name in agate_table.column_names -%}
        {%- do types.append(column_override.get(
            column_name, adapter.convert_type(agate_table, loop.index0)
        )) -%}
    {%- endfor -%}
    {%- set statements = [] -%}
    {%- for chunk in agate_table.rows | batch(get_batch_size()) -%}
        {%- set sql -%}
            insert into {{ this.render() }} values
            {%- for row in chunk %}
            (
                {%- for value in row -%}
                    {%- if value is none -%}
                        cast(null as {{ types[loop.index0] }})
                    {%- else -%}
                        cast('{{ value | string | replace("\\", "\\\\")
                            | replace("'", "\\'") }}' as {{ types[loop.index0] }})
                    {%- endif -%}
                    {{- ", " if not loop.last -}}
                {%- endfor -%}
            ){{ "," if not loop.last }}
            {%- endfor %}
        {%- endset -%}
        {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
        {%- if loop.first -%}
            {%- do statements.append(sql) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(statements[0] if statements else "") }}
{%- endmacro %}
