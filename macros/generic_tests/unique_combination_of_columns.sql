{#- Fails on every combination of `combination_of_columns` held by more than one row:
    the uniqueness test of a composite key (what dbt-utils would give, written small).
    NULLs group together, so a key part that is null still counts as a value. -#}
{% test unique_combination_of_columns(model, combination_of_columns) -%}
with

duplicated as (
    select
        {{ combination_of_columns | join(",\n        ") }},
        count(*) as row_count
    from {{ model }}
    group by
        {{ combination_of_columns | join(",\n        ") }}
    having count(*) > 1
)

select * from duplicated
{%- endtest %}
