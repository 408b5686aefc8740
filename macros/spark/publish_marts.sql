{#- Publishing on Spark (medallion/publish.py, `dbt run-operation spark_publish_marts`):
    points each table of the readers' schema at the folder of its new publication,
    `tables` mapping each mart to its folder (the Parquet files copied from `built`,
    the schema dbt built them in; `publications`, the folder of every publication).
    An external table whose columns are those of the build is moved with `alter table …
    set location` (one metastore change: its readers see the old files or the new
    ones); a new one is created as an external table (dropping one never deletes its
    files). One whose columns changed is dropped and created again, and so is a managed
    one (a warehouse whose marts were built in `marts` before publishing existed):
    Spark deletes a managed table's files when it is dropped, so it must not come to
    point at a publication folder. A table the project no longer builds leaves the schema
    when it reads a publication folder; views and other tables there are left alone.
    One table at a time: not atomic across the marts. -#}
{% macro spark_publish_marts(schema, built, tables, publications) -%}
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
            {%- set kind = spark_table_detail(relation).get("Type", "") | upper -%}
            {%- set same = before == after and kind == "EXTERNAL" -%}
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
    {%- set root = publications.rstrip("/") ~ "/" -%}
    {%- set present = run_query("show tables in " ~ schema) -%}
    {%- for row in present.rows -%}
        {%- if not row["isTemporary"] and row["tableName"] not in tables -%}
            {%- set relation = schema ~ "." ~ row["tableName"] -%}
            {%- set detail = spark_table_detail(relation) -%}
            {%- set place = detail.get("Location", "") -%}
            {%- if place.startswith("file://") -%}
                {%- set place = place[7:] -%}
            {%- elif place.startswith("file:") -%}
                {%- set place = place[5:] -%}
            {%- endif -%}
            {%- if detail.get("Type", "") | upper == "EXTERNAL" and place.startswith(root) -%}
                {%- do run_query("drop table if exists " ~ relation) -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
{%- endmacro %}

{#- What `describe table extended` says of a table below its columns, by row name
    ("Type": MANAGED, EXTERNAL or VIEW; "Location"...; a column of the same name is
    not taken for them). -#}
{% macro spark_table_detail(relation) -%}
    {%- set detail = {} -%}
    {%- set state = {"below": false} -%}
    {%- for row in run_query("describe table extended " ~ relation).rows -%}
        {%- set name = (row[0] or "") | string | trim -%}
        {%- if name == "# Detailed Table Information" -%}
            {%- do state.update({"below": true}) -%}
        {%- elif state["below"] and name and name not in detail -%}
            {%- do detail.update({name: (row[1] or "") | string | trim}) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(detail) }}
{%- endmacro %}
