{#- Every row balances: `total_column` equals the sum of `part_columns` (gold rule 6,
    "rows in = rows out + duplicates removed + rows quarantined"). A null on either
    side is a failure, never a silent pass. Fails on every row that does not balance. -#}
{% test reconciles(model, total_column, part_columns) -%}
with

balances as (
    select
        *,
        {{ part_columns | join(" + ") }} as sum_of_parts
    from {{ model }}
)

select * from balances
where
    {{ total_column }} is null
    or sum_of_parts is null
    or {{ total_column }} <> sum_of_parts
{%- endtest %}
