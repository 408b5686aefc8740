{#- Fails on every combination of `combination_of_columns` held by more than one row:
    the uniqueness test of a composite key (what dbt-utils would give, written small).
    NULLs group together, so a key part that is null still counts as a value.

    `written` (optional) names the bookkeeping column of an incremental model
    (`rewritten_since`, `change_load_id`). In an incremental build the test then reads
    the keys of the rows this build wrote (`written_by_this_build`) and counts, for
    those keys only, every row of the whole table: a written row that clashes with a
    row the build left alone is found, and the rows left alone, checked by the build
    that wrote them, are not grouped again. In a whole build every key is counted. Key
    parts are matched null-safely, so null parts count as values in both. -#}
{% test unique_combination_of_columns(model, combination_of_columns, written=none) -%}
{%- set key = combination_of_columns | join(",\n        ") -%}
with

{% if written and medallion.changed_since() -%}
written_keys as (
    select distinct
        {{ key }}
    from {{ model }}
    where {{ medallion.written_by_this_build(written) }}
),

checked as (
    select
        {%- for column in combination_of_columns %}
        tested.{{ column }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ model }} as tested
    inner join written_keys
        on
        {%- for column in combination_of_columns %}
            {{ "and " if not loop.first }}{{ medallion.null_safe_equals(
                "tested." ~ column, "written_keys." ~ column
            ) }}
        {%- endfor %}
),
{%- else -%}
checked as (
    select
        {{ key }}
    from {{ model }}
),
{%- endif %}

duplicated as (
    select
        {{ key }},
        count(*) as row_count
    from checked
    group by
        {{ key }}
    having count(*) > 1
)

select * from duplicated
{%- endtest %}
