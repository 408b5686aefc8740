{#- True when the warehouse's server is MariaDB (its `version()` says so), false on
    MySQL, on any other warehouse and while dbt parses (nothing is connected then). -#}
{% macro is_mariadb() -%}
    {%- if execute and target.type == "mysql" -%}
        {%- set version = run_query("select version()").columns[0].values()[0] -%}
        {{ return("mariadb" in version | lower) }}
    {%- endif -%}
    {{ return(false) }}
{%- endmacro %}
