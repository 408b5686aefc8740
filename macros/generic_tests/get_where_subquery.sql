{#- dbt's `where` config of a generic test, with one placeholder more:
    `__changed_since__` is the watermark of an incremental build (`changed_since()`,
    quoted). A test configured `where: "rewritten_since >= __changed_since__"` checks
    the rows this build wrote when it is incremental, and every row when it is whole
    (the condition is dropped). Otherwise as dbt's own. -#}
{% macro default__get_where_subquery(relation) -%}
    {%- set where = config.get("where") or "" -%}
    {%- if "__changed_since__" in where -%}
        {%- set since = medallion.changed_since() -%}
        {%- set where = where | replace("__changed_since__", "'" ~ since ~ "'")
            if since else "" -%}
    {%- endif -%}
    {%- if where -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
