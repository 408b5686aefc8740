{#- dbt-mysql 1.7's test query, run on MariaDB with its hash joins
    (`mariadb_join_settings`, as `set statement ... for`: this statement only): a test
    runs no pre-hook, and many join a large table on columns without an index. -#}
{% macro mysql__get_test_sql(main_sql, fail_calc, warn_if, error_if, limit) -%}
    {%- if medallion.is_mariadb() %}
        set statement {{ medallion.mariadb_join_settings() }} for
    {%- endif %}
    select
        {{ fail_calc }} as failures,
        case
            when {{ fail_calc }} {{ warn_if | replace("!=", "<>") }} then 'true'
            else 'false'
        end as should_warn,
        case
            when {{ fail_calc }} {{ error_if | replace("!=", "<>") }} then 'true'
            else 'false'
        end as should_error
    from (
        {{ main_sql }}
        {{ "limit " ~ limit if limit != none }}
    ) as dbt_internal_test
{%- endmacro %}
