{#- The `on-run-start` hook of the Spark target: names the lake's raw tables in Spark's
    metastore, so the sources resolve as on the other targets. Reads the list that
    `medallion` passes in `MEDALLION_LAKE_TABLES` (medallion/lake.py: schema, table,
    folder, primary key); run by hand without it, dbt registers nothing and reads the
    tables already registered. Each table is registered again on every run: an
    external table over its folder (dropping one never deletes its files), with
    Parquet's schema merged across files, since a later load may add columns. A table
    dlt loads with `merge` (which on plain Parquet appends) is `<table>__lake`, and the
    source is a view keeping each key's newest row, as dlt's merge does elsewhere.
    dbt read the relations before this hook ran: each one is added to its cache, so
    `relation_columns` finds it. When `medallion` registered the same list in this
    process just before (`MEDALLION_LAKE_REGISTERED`: `dbt run-operation register_lake
    --args '{force: true}'` before `dbt source freshness`, which runs no hook), the
    hook does nothing. Nothing on the other targets. -#}
{% macro register_lake(force=false) -%}
    {%- if target.type != "spark" or not execute -%}
        {{ return("") }}
    {%- endif -%}
    {%- set listed = env_var("MEDALLION_LAKE_TABLES", "[]") -%}
    {%- if not force and listed == env_var("MEDALLION_LAKE_REGISTERED", "") -%}
        {{ return("") }}
    {%- endif -%}
    {%- set tables = fromjson(listed) -%}
    {%- for schema in tables | map(attribute="schema") | unique -%}
        {%- do run_query("create database if not exists " ~ schema) -%}
    {%- endfor -%}
    {%- for entry in tables -%}
        {%- set name = entry.schema ~ "." ~ entry.table -%}
        {%- set files = name ~ ("__lake" if entry["keys"] else "") -%}
        {%- for identifier in [entry.table, entry.table ~ "__lake"] -%}
            {%- set old = adapter.get_relation(
                database=none, schema=entry.schema, identifier=identifier
            ) -%}
            {%- if old is not none -%}
                {%- do adapter.drop_relation(old) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- do run_query(
            "create table " ~ files ~ " using parquet options (mergeSchema 'true') "
            ~ "location '" ~ entry.location ~ "'"
        ) -%}
        {%- do adapter.cache_added(api.Relation.create(
            schema=entry.schema, identifier=files.split(".")[-1], type="table"
        )) -%}
        {%- if entry["keys"] -%}
            {%- set columns = run_query("select * from " ~ files ~ " limit 0")
                .column_names -%}
            {%- set quoted = [] -%}
            {%- for column in columns -%}
                {%- do quoted.append("`" ~ column ~ "`") -%}
            {%- endfor -%}
            {%- set keys = [] -%}
            {%- for key in entry["keys"] -%}
                {%- do keys.append("`" ~ key ~ "`") -%}
            {%- endfor -%}
            {%- do run_query(
                "create view " ~ name ~ " as select " ~ quoted | join(", ")
                ~ " from (select *, row_number() over (partition by "
                ~ keys | join(", ") ~ " order by `_dlt_load_id` desc) as lake_version"
                ~ " from " ~ files ~ ") as versions where lake_version = 1"
            ) -%}
            {%- do adapter.cache_added(api.Relation.create(
                schema=entry.schema, identifier=entry.table, type="view"
            )) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return("") }}
{%- endmacro %}
