{#- Publishing on Spark (medallion/publish.py, `dbt run-operation spark_publish_marts`):
    points each table of the readers' schema at the folder of its new publication,
    `tables` mapping each mart to its folder (the Parquet files copied from `built`,
    the schema dbt built them in). A table whose columns are those of the build is moved with `alter
    table … set location` (one metastore change: its readers see the old files or the
    new ones); a new one is created, and one whose columns changed is dropped and
    created again (external tables: dropping one never deletes its files). A mart the
    project no longer builds leaves the schema. One table at a time: not atomic across
    the marts. -#}
{% macro spark_publish_marts(schema, built, tables) -%}
    {%- do run_query("create database if not exists " ~ schema) -%}
    {%- for name, location in tables.items() -%}
        {%- set relation = schema ~ "." ~ name -%}
        {%- set old = adapter.get_relation(database=none, schema=schema, identifier=name) -%}
        {%- set same = false -%}
        {%- if old is not none -%}
            {%- set source = adapter.get_relation(
                database=none, schema=built, identifier=name
            ) -%}
            {%- set before = [] -%}
            {%- for column in adapter.get_columns_in_relation(old) -%}
                {%- do before.append(column.name ~ " " ~ column.dtype) -%}
            {%- endfor -%}
            {%- set after = [] -%}
            {%- for column in adapter.get_columns_in_relation(source) -%}
                {%- do after.append(column.name ~ " " ~ column.dtype) -%}
            {%- endfor -%}
            {%- set same = before == after -%}
        {%- endif -%}
        {%- if same -%}
            {%- do run_query(
                "alter table " ~ relation ~ " set location '" ~ location ~ "'"
            ) -%}
        {%- else -%}
            {%- if old is not none -%}
                {%- do run_query("drop table if exists " ~ relation) -%}
            {%- endif -%}
            {%- do run_query(
                "create table " ~ relation ~ " using parquet location '" ~ location ~ "'"
            ) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set present = run_query("show tables in " ~ schema) -%}
    {%- for row in present.rows -%}
        {%- if not row["isTemporary"] and row["tableName"] not in tables -%}
            {%- do run_query("drop table if exists " ~ schema ~ "." ~ row["tableName"]) -%}
        {%- endif -%}
    {%- endfor -%}
{%- endmacro %}
