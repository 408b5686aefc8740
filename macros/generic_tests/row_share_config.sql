{#- The policy (medallion/policy.py) for a generic test of row-level rules, set from
    inside the test: it warns when any row fails, and errors (so dbt skips what
    depends on the model) only when the failing rows are more than
    `max_bad_row_share` of the model's rows. The test's rows must carry `count_column`
    (the failing rows each stands for) and `table_rows` (the model's rows). The share
    is `MEDALLION_MAX_BAD_ROW_SHARE` (`medallion run` sets it from `[checks]
    max_bad_row_share` in .dlt/config.toml when the environment does not; 0.01). -#}
{% macro row_share_config(count_column) -%}
    {%- set setting = env_var("MEDALLION_MAX_BAD_ROW_SHARE", "0.01") -%}
    {%- set share = setting | float(-1) -%}
    {%- if share < 0 or share > 1 -%}
        {{ exceptions.raise_compiler_error(
            "MEDALLION_MAX_BAD_ROW_SHARE must be a share between 0 and 1, got "
            ~ setting
        ) }}
    {%- endif -%}
    {{ config(
        fail_calc="coalesce(sum(" ~ count_column ~ "), 0)",
        warn_if="> 0",
        error_if="> " ~ share ~ " * max(table_rows)",
    ) }}
{%- endmacro %}
